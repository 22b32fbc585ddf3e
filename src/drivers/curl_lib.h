// libcurl, opened on first use (common/lazy_lib.h says why). Members carry
// the library's own names and types: curl_api().curl_easy_setopt(h, opt, v) is
// the same call as curl_easy_setopt(h, opt, v), varargs included.
#pragma once

#include <curl/curl.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_CURL_SYMBOLS(X)                                                               \
  X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_reset)              \
  X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo) X(curl_easy_strerror)        \
  X(curl_slist_append) X(curl_slist_free_all)

struct CurlLib {
  BANGER_LAZY_MEMBERS(BANGER_CURL_SYMBOLS)
};

/// Opens libcurl once (and runs curl_global_init once); throws HostError
/// naming the package when it is not installed.
const CurlLib& curl_api();

}  // namespace banger
