#include "drivers/dm_lib.h"

#include "common/lazy_lib.h"

namespace banger {

const DmLib& dm_api() {
  static const DmLib lib = [] {
    static const LazyLib so("libdevmapper.so.1.02.1", "libdevmapper1.02.1");
    DmLib l{};
#define BANGER_RESOLVE(name) l.name = so.symbol<decltype(&::name)>(#name);
    BANGER_DM_SYMBOLS(BANGER_RESOLVE)
#undef BANGER_RESOLVE
    return l;
  }();
  return lib;
}

}  // namespace banger
