#include "drivers/crypto_lib.h"

#include "common/lazy_lib.h"

namespace banger {

const CryptoLib& crypto_api() {
  static const CryptoLib lib = [] {
    static const LazyLib so("libcrypto.so.3", "libssl3");
    CryptoLib l{};
#define BANGER_RESOLVE(name) l.name = so.symbol<decltype(&::name)>(#name);
    BANGER_CRYPTO_SYMBOLS(BANGER_RESOLVE)
#undef BANGER_RESOLVE
    return l;
  }();
  return lib;
}

}  // namespace banger
