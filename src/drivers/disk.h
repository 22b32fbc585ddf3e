// Each VM's own writable root disk, made from its Image: reflink (FICLONE)
// where the filesystem shares extents (btrfs, xfs), else a sparse copy; then
// grown to diskSize. device-mapper snapshots come later.
#pragma once

#include <cstdint>
#include <string>

#include "drivers/op_result.h"
#include "resources/model.h"

namespace banger {

enum class DiskMethod { Reflink, Copy };
const char* to_string(DiskMethod m);

struct DiskSpec {
  std::string image_path;  ///< base image, read only
  std::string disk_path;   ///< the VM's disk, under the state dir
  uint64_t size = 0;       ///< bytes; 0 = the image's size; never smaller than it
  DiskStrategy strategy = DiskStrategy::Auto;
};

struct DiskOutcome {
  OpResult result = OpResult::Unchanged;
  DiskMethod method = DiskMethod::Copy;
  uint64_t size = 0;
};

class DiskDriver {
 public:
  /// Creates the disk when absent (written to a temp name, then renamed, so a
  /// crash never leaves a half disk under the real name); grows an existing
  /// one to `size`; never shrinks or rewrites it. Throws HostError, e.g. when
  /// `size` is below the image's size or `reflink` was asked where the
  /// filesystem cannot.
  DiskOutcome ensure(const DiskSpec& spec);
  /// Deletes the disk; absent is success.
  void remove(const std::string& disk_path);
  static uint64_t file_size(const std::string& path);  ///< throws when missing
};

/// Lowercase hex SHA-256 of a file's content; throws HostError when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace banger
