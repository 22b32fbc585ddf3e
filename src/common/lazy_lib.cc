#include "common/lazy_lib.h"

#include <dlfcn.h>

#include "common/host_error.h"

namespace banger {

LazyLib::LazyLib(const char* soname, const char* package) : soname_(soname), package_(package) {
  handle_ = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* why = ::dlerror();
    throw HostError(soname_ + " cannot be loaded (" + (why ? why : "unknown error") +
                        "): install the Debian package " + package_ + " (`make deps` does)",
                    ErrorCode::NotFound);
  }
}

void* LazyLib::raw_symbol(const char* name) const {
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (!p) {
    const char* why = ::dlerror();
    throw HostError(soname_ + " has no " + name + " (" + (why ? why : "null symbol") +
                        "): the installed " + package_ + " is older than banger needs",
                    ErrorCode::NotFound);
  }
  return p;
}

}  // namespace banger
