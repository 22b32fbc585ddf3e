// device-mapper through libdevmapper (never the dmsetup binary): the
// copy-on-write "snapshot" devices that give each VM a writable disk over a
// shared read-only base image. Works without udev: the library itself makes
// /dev/mapper/NAME when dm_udev_wait() runs. Many kernels (this build host's
// among them) have no device-mapper at all: available() says so without side
// effects, and the disk driver then uses reflink or a copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/op_result.h"

namespace banger {

struct DmTarget {
  uint64_t start = 0, length = 0;  ///< sectors
  std::string type, params;        ///< "snapshot", "7:0 7:1 P 8"
};

struct DmDevice {
  std::string name, uuid;
  uint32_t major = 0, minor = 0;
  int open_count = 0;
  bool suspended = false;
  std::vector<DmTarget> targets;
  std::vector<std::string> deps;  ///< "MAJ:MIN" of the devices it uses (DM_DEVICE_DEPS), sorted
};

struct SnapshotStatus {
  uint64_t used_sectors = 0, total_sectors = 0, metadata_sectors = 0;
  bool invalid = false, overflow = false;
};

class DeviceMapper {
 public:
  /// Side-effect free detection: /proc/misc lists "device-mapper" or
  /// /sys/module/dm_mod exists, and then dm_driver_version() works. Never
  /// mknods /dev/mapper/control on a kernel without dm (libdevmapper would,
  /// and leave a node that fails with ENODEV). `why` explains a false.
  static bool available(std::string* why = nullptr);
  /// Only the kernel half of available(): what a user without root can
  /// tell (the control device is root's).
  static bool in_kernel(std::string* why = nullptr);

  /// Routes libdevmapper's messages to spdlog and turns udev sync off; throws
  /// HostError when !available().
  DeviceMapper();
  ~DeviceMapper();
  DeviceMapper(const DeviceMapper&) = delete;
  DeviceMapper& operator=(const DeviceMapper&) = delete;

  /// Creates `name` (with `uuid`) holding one "snapshot" target
  /// "<origin> <cow> P 8" of `sectors` (origin, cow: device paths or MAJ:MIN;
  /// P = persistent, so the same COW rebuilds the device after a reboot;
  /// 8 sectors = 4 KiB chunks). /dev/mapper/NAME exists on return, also
  /// without udev. Already present with the same table -> Unchanged; present
  /// with another table or uuid -> HostError.
  OpResult create_snapshot(const std::string& name, const std::string& uuid,
                           const std::string& origin, const std::string& cow, uint64_t sectors);
  /// DM_DEVICE_REMOVE, retried a few seconds while something briefly holds it
  /// (udev's probe); absent is success; still open -> HostError saying so.
  void remove(const std::string& name);
  /// DM_DEVICE_LIST, then info/table/deps only for names starting with `prefix`.
  std::vector<DmDevice> list(const std::string& prefix);
  /// The same devices (name, uuid, major/minor, deps; no targets or counts)
  /// as sysfs shows them to any user: reading without root, where the dm
  /// control device is root's. `sys` is "/sys" but for tests.
  static std::vector<DmDevice> list_from_sysfs(const std::string& prefix, const std::string& sys = "/sys");
  std::optional<DmDevice> get(const std::string& name);
  /// nullopt when `name` is absent; HostError when it is not a snapshot.
  std::optional<SnapshotStatus> snapshot_status(const std::string& name);
  static std::string device_path(const std::string& name);  ///< "/dev/mapper/" + name
};

}  // namespace banger
