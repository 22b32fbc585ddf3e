#include "drivers/nft_lib.h"

#include "common/lazy_lib.h"

namespace banger {

const NftLib& nft_api() {
  static const NftLib lib = [] {
    static const LazyLib so("libnftables.so.1", "libnftables1");
    NftLib l{};
#define BANGER_RESOLVE(name) l.name = so.symbol<decltype(&::name)>(#name);
    BANGER_NFT_SYMBOLS(BANGER_RESOLVE)
#undef BANGER_RESOLVE
    return l;
  }();
  return lib;
}

}  // namespace banger
