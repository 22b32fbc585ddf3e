#include "drivers/dm_lib.h"

#include "common/lazy_lib.h"

namespace banger {

BANGER_LAZY_TABLE(DmLib, dm_api, BANGER_DM_SYMBOLS, "libdevmapper.so.1.02.1", "libdevmapper1.02.1")

}  // namespace banger
