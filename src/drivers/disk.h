// Each VM's own writable root disk as a file, made from its Image: reflink
// (FICLONE) where the filesystem shares extents (btrfs, xfs), else a sparse
// copy; then grown to diskSize. Device-mapper snapshot disks are assembled
// from the loop and devmapper drivers by reconciler/disk_manager.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/host_error.h"
#include "drivers/op_result.h"
#include "drivers/sha256.h"  // sha256_file, which disk users check images with
#include "resources/model.h"

namespace banger {

enum class DiskMethod { Reflink, Copy, Snapshot };
const char* to_string(DiskMethod m);
std::optional<DiskMethod> parse_disk_method(const std::string& s);

/// The filesystem (pair) cannot share extents: EOPNOTSUPP, EXDEV, ...
/// Thrown by a `reflink` ensure, so `auto` can go on to the next method.
struct ReflinkUnsupported : HostError {
  using HostError::HostError;
};

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
  /// Whether files in `dir` can share extents (FICLONE of a small temp file
  /// in it). `why` says why not. Leaves nothing behind.
  static bool reflink_supported(const std::string& dir, std::string* why = nullptr);
};

}  // namespace banger
