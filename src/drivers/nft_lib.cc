#include "drivers/nft_lib.h"

#include "common/lazy_lib.h"

namespace banger {

BANGER_LAZY_TABLE(NftLib, nft_api, BANGER_NFT_SYMBOLS, "libnftables.so.1", "libnftables1")

}  // namespace banger
