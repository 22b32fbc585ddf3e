#include "drivers/crypto_lib.h"

#include "common/lazy_lib.h"

namespace banger {

BANGER_LAZY_TABLE(CryptoLib, crypto_api, BANGER_CRYPTO_SYMBOLS, "libcrypto.so.3", "libssl3")

}  // namespace banger
