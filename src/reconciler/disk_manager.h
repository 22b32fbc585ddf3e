// VM root disks on the host: a file (reflink or sparse copy, drivers/disk.h)
// or a device-mapper snapshot assembled from a shared read-only loop device
// over the Image, a sparse copy-on-write file on a loop device of its own,
// and a `snapshot` target named banger-<vm>. Each object is recorded (store)
// and journaled before it is made; a disk's record keeps the method `auto`
// chose so that it never changes under an existing disk.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "drivers/disk.h"
#include "reconciler/action_outcome.h"
#include "reconciler/disk_rules.h"
#include "reconciler/observed_state.h"
#include "resources/model.h"
#include "reconciler/journaled.h"
#include "state/store.h"

namespace banger {

struct DiskRequest {
  std::string vm;
  std::string image_path;  ///< the Image's file, checked
  uint64_t size = 0;       ///< diskSize in bytes; 0 = the image's size
  DiskStrategy strategy = DiskStrategy::Auto;
  std::string owner;       ///< "VM/<name>"
};

struct DiskResult {
  OpResult result = OpResult::Unchanged;
  DiskMethod method = DiskMethod::Copy;
  uint64_t size = 0;
  std::string device;  ///< what the hypervisor opens: the file, or /dev/mapper/banger-<vm>
};

class DiskManager {
 public:
  /// Shares `store` with the reconciler; a sequence of calls holds it (Store::hold).
  DiskManager(Store& store, std::string state_dir);

  /// What new disks can use (reflink, device-mapper) and banger's dm
  /// devices, loop devices and VM folders: one pass over each. Without
  /// `privileged` (a reader without root), only what any user may read:
  /// dm devices from sysfs, no reflink probe.
  DiskHost observe(bool privileged = true);
  /// Makes the VM's disk when it has none (trying the strategy's methods in
  /// order), grows a file disk to `size`, and rebuilds a snapshot's dm device
  /// from its recorded COW file when it went missing (a reboot). Refuses to
  /// shrink, and to grow a snapshot. Throws HostError.
  DiskResult ensure(const DiskRequest& req, const DiskHost& host);
  /// Removes the VM's disk by its record: dm device, COW loop and file, and
  /// the image's base loop when no other snapshot uses it; or the file.
  /// The VM's process must be stopped first. Absent is success.
  void remove(const std::string& vm, const std::string& owner);
  /// Removes what find_disk_orphans() found, in its order. Returns a summary.
  ActionOutcome sweep(const DiskOrphans& orphans);

  std::string vm_dir(const std::string& vm) const { return state_dir_ + "/vms/" + vm; }
  std::string disk_file(const std::string& vm) const { return vm_dir(vm) + "/disk.img"; }
  std::string cow_file(const std::string& vm) const { return vm_dir(vm) + "/cow.img"; }
  const std::string& tag() const { return tag_; }

 private:
  DiskResult make_file_disk(const DiskRequest& req, DiskMethod m, uint64_t image_size);
  DiskResult make_snapshot(const DiskRequest& req, uint64_t image_size);
  /// Attaches what a recorded snapshot needs that is missing, then its dm device.
  OpResult assemble_snapshot(const DiskRecord& rec, const std::string& owner);
  void remove_locked(const std::string& vm, const std::string& owner);  ///< snapshot_mu_ held

  template <class Fn>
  auto locked(Fn&& fn) {
    return with_store(store_, std::forward<Fn>(fn));
  }
  template <class Fn>
  auto journaled(const std::string& action, const std::string& type, const std::string& id,
                 const std::string& owner, Fn&& fn) {
    return journaled_change(store_, action, type, id, owner, std::forward<Fn>(fn));
  }

  Store& store_;
  std::string state_dir_;
  std::string tag_;
  /// Snapshot assembly is serialized: two VMs on one image share its base
  /// loop device, which the first one attaches.
  std::mutex snapshot_mu_;
};

}  // namespace banger
