// e2fsprogs' libext2fs (to write files into a guest's ext4 disk without
// mounting it), opened on first use (common/lazy_lib.h says why). Members
// carry the library's own names and types. Only exported functions can be
// here: ext2fs_get_mem, ext2fs_free_mem, ext2fs_has_feature_* and the like
// are inline in the headers, and i_uid_high is a field macro.
#pragma once

#include <ext2fs/ext2fs.h>

#include "common/lazy_lib.h"

namespace banger {

// error_message is libcom_err's; dlsym on libext2fs's handle finds it too,
// because libcom_err.so.2 is a dependency of libext2fs.so.2.
#define BANGER_EXT2FS_SYMBOLS(X)                                                               \
  X(ext2fs_open) X(ext2fs_close2) X(ext2fs_free) X(ext2fs_check_if_mounted)                    \
  X(ext2fs_read_bitmaps) X(ext2fs_namei_follow) X(ext2fs_lookup) X(ext2fs_read_inode_full)     \
  X(ext2fs_write_inode_full) X(ext2fs_write_new_inode) X(ext2fs_new_inode) X(ext2fs_link)      \
  X(ext2fs_unlink) X(ext2fs_expand_dir) X(ext2fs_mkdir) X(ext2fs_inode_alloc_stats2)           \
  X(ext2fs_extent_open2) X(ext2fs_extent_free) X(ext2fs_file_open) X(ext2fs_file_read)         \
  X(ext2fs_file_write) X(ext2fs_file_close) X(ext2fs_punch) X(ext2fs_free_ext_attr)            \
  X(ext2fs_inode_has_valid_blocks2) X(initialize_ext2_error_table) X(error_message)

// Global variables, not functions. The same macros fit them: dlsym of a
// variable's name gives its address, so the member is typed
// decltype(&::name), a pointer to the variable (io_manager*), and is read
// through unix_io() below rather than called.
#define BANGER_EXT2FS_DATA(X) X(unix_io_manager)

#define BANGER_EXT2FS_ALL(X) BANGER_EXT2FS_SYMBOLS(X) BANGER_EXT2FS_DATA(X)

struct Ext2fsLib {
  BANGER_LAZY_MEMBERS(BANGER_EXT2FS_ALL)

  /// The value of the library's `unix_io_manager` (what ext2fs_open wants).
  io_manager unix_io() const { return *unix_io_manager; }
};

/// Opens libext2fs once and registers its error table with com_err, so that
/// error_message() says "Could not allocate block..." and not "Unknown code
/// ext2 N". Throws HostError naming the package when it is not installed.
const Ext2fsLib& ext2fs_api();

}  // namespace banger
