#include "drivers/ext2fs_lib.h"

#include "common/lazy_lib.h"

namespace banger {
namespace {

BANGER_LAZY_TABLE(Ext2fsLib, resolve_ext2fs, BANGER_EXT2FS_ALL, "libext2fs.so.2", "libext2fs2")

}  // namespace

const Ext2fsLib& ext2fs_api() {
  // Run once (a static's initializer), after the table is resolved: com_err
  // only knows the codes of tables added to its list, and the library does
  // not add its own. Adding twice would be harmless, once is enough.
  static const Ext2fsLib& lib = []() -> const Ext2fsLib& {
    const Ext2fsLib& l = resolve_ext2fs();
    l.initialize_ext2_error_table();
    return l;
  }();
  return lib;
}

}  // namespace banger
