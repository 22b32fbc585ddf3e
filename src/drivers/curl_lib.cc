#include "drivers/curl_lib.h"

#include "common/lazy_lib.h"

namespace banger {
namespace {
BANGER_LAZY_TABLE(CurlLib, curl_table, BANGER_CURL_SYMBOLS, "libcurl.so.4", "libcurl4")
}  // namespace

const CurlLib& curl_api() {
  static const CurlLib& lib = []() -> const CurlLib& {
    const CurlLib& l = curl_table();
    // Not thread-safe before libcurl 7.84, so it runs here, once.
    l.curl_global_init(CURL_GLOBAL_DEFAULT);
    return l;
  }();
  return lib;
}

}  // namespace banger
