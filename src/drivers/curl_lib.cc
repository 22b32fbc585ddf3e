#include "drivers/curl_lib.h"

#include "common/lazy_lib.h"

namespace banger {

const CurlLib& curl_api() {
  // A static's initializer runs once, thread-safely; if it throws, the next
  // call tries again.
  static const CurlLib lib = [] {
    static const LazyLib so("libcurl.so.4", "libcurl4");
    CurlLib l{};
#define BANGER_RESOLVE(name) l.name = so.symbol<decltype(&::name)>(#name);
    BANGER_CURL_SYMBOLS(BANGER_RESOLVE)
#undef BANGER_RESOLVE
    // Not thread-safe before libcurl 7.84, so it runs here, once.
    l.curl_global_init(CURL_GLOBAL_DEFAULT);
    return l;
  }();
  return lib;
}

}  // namespace banger
