#include "drivers/archive_lib.h"

namespace banger {

BANGER_LAZY_TABLE(ArchiveLib, archive_api, BANGER_ARCHIVE_SYMBOLS, "libarchive.so.13", "libarchive13")

}  // namespace banger
