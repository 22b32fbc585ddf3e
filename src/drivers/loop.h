// Loop devices: a file seen as a block device, for device-mapper snapshots
// (the read-only base image and each VM's copy-on-write file). Attached with
// AUTOCLEAR, so a device detaches by itself once its last user (the fd
// attach() returns, then the dm device built on it) lets go: nothing leaks
// when banger dies between the steps. Observed through /sys/block/loopN.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace banger {

struct LoopDevice {
  std::string device;          ///< "/dev/loop3"
  int number = -1;
  uint32_t major = 0, minor = 0;
  /// /sys/block/loopN/loop/backing_file, " (deleted)" stripped: the kernel's
  /// path of the open file (absolute, symlinks resolved, as this mount
  /// namespace sees it), so compare it with a canonical path.
  std::string backing_file;
  bool backing_deleted = false;
  bool read_only = false;
  bool autoclear = false;
  uint64_t size = 0;           ///< bytes
  std::string label;           ///< lo_file_name (LOOP_GET_STATUS64): banger's ownership label
  std::vector<std::string> holders;  ///< /sys/block/loopN/holders/*, e.g. "dm-0"
  std::string majmin() const;  ///< "7:3"
};

class LoopDriver {
 public:
  /// The longest label: lo_file_name is 64 bytes with its terminating NUL.
  static constexpr size_t kMaxLabel = 63;

  struct Attached {
    LoopDevice dev;
    UniqueFd fd;
  };
  /// Attaches `file` (a regular file) to a free loop device: LOOP_CTL_GET_FREE
  /// + LOOP_CONFIGURE (retried when another process took the number: EBUSY),
  /// else LOOP_SET_FD + LOOP_SET_STATUS64 on kernels before 5.8. Flags
  /// AUTOCLEAR, + READ_ONLY when `read_only` (the file is then opened
  /// O_RDONLY); lo_file_name = `label` (<= kMaxLabel bytes). AUTOCLEAR detaches
  /// the device when its last fd closes, so the caller keeps `fd` until a
  /// holder (dm) has the device. Throws HostError naming the file.
  Attached attach(const std::string& file, bool read_only, const std::string& label);
  /// Opens an existing bound loop device, to keep an AUTOCLEAR loop alive
  /// while dm is set up. Throws HostError when it is not bound (any more).
  UniqueFd hold(const std::string& device);
  /// Every bound loop device: one pass over /sys/block/loop*, plus
  /// LOOP_GET_STATUS64 for the label. Devices unbound meanwhile are left out.
  std::vector<LoopDevice> list();
  /// One device, as list() sees it; nullopt when it is not bound or absent.
  std::optional<LoopDevice> describe(const std::string& device);
  /// LOOP_CLR_FD. Unbound or absent is success. A device with holders (a dm
  /// device on it) -> HostError naming them. While someone else still has it
  /// open the kernel defers the detach to their last close (it sets AUTOCLEAR).
  void detach(const std::string& device);
  /// Grows a loop device to its backing file's new size (LOOP_SET_CAPACITY).
  void refresh_size(const std::string& device);
};

}  // namespace banger
