// libarchive, opened on first use (common/lazy_lib.h says why): reading an
// OCI image's layers (tar, tar+gzip, tar+zstd) and writing them to disk.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_ARCHIVE_SYMBOLS(X)                                                                          \
  X(archive_read_new) X(archive_read_support_filter_gzip) X(archive_read_support_filter_zstd)              \
  X(archive_read_support_format_tar) X(archive_read_open_filename) X(archive_read_next_header)              \
  X(archive_read_data_block) X(archive_read_free) X(archive_error_string) X(archive_entry_pathname)         \
  X(archive_entry_hardlink) X(archive_entry_symlink) X(archive_entry_filetype) X(archive_entry_size)       \
  X(archive_entry_set_pathname) X(archive_entry_set_hardlink) X(archive_write_disk_new)                   \
  X(archive_write_disk_set_options) X(archive_write_header) X(archive_write_data_block)                   \
  X(archive_write_finish_entry) X(archive_write_free) X(archive_filter_bytes)

struct ArchiveLib {
  BANGER_LAZY_MEMBERS(BANGER_ARCHIVE_SYMBOLS)
};

/// Opens libarchive once; throws HostError naming the package when it is
/// not installed.
const ArchiveLib& archive_api();

}  // namespace banger
