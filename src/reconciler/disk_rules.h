// Pure rules for VM root disks: the names and labels that mark banger's
// device-mapper and loop devices as its own, which methods a diskStrategy
// may use for a new disk, and which of banger's devices and folders no
// record explains any more (left by a crash) and must go.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drivers/disk.h"
#include "reconciler/observed_state.h"
#include "resources/model.h"

namespace banger {

/// 8 hex digits derived from the state dir: devices made for one state dir
/// carry it, so a sweep never touches another banger's (or a test's) devices.
std::string disk_owner_tag(const std::string& state_dir);
std::string dm_name(const std::string& vm);                          ///< "banger-<vm>"
std::string dm_uuid(const std::string& tag, const std::string& vm);  ///< "BANGER-<tag>-<vm>"
std::string base_loop_label(const std::string& tag);                 ///< "banger:<tag>:base"
std::string cow_loop_label(const std::string& tag);                  ///< "banger:<tag>:cow"

/// The methods to try for a new disk, best first. `auto`: reflink where the
/// state dir can share extents, then a device-mapper snapshot where the
/// kernel has device-mapper and diskSize fits the image, then a sparse copy.
/// An explicit strategy is the only candidate. Empty, with *why set, when the
/// strategy cannot work on this host (snapshot without device-mapper, or a
/// diskSize larger than the image).
std::vector<DiskMethod> disk_candidates(DiskStrategy strategy, const DiskHost& host, uint64_t image_size,
                                        uint64_t disk_size, std::string* why);

/// Host objects this state dir made that no record explains, in the order
/// they are removed: dm devices, then the loops under them, then folders.
struct DiskOrphans {
  std::vector<std::string> dm;       ///< dm device names
  std::vector<ObservedLoop> loops;
  std::vector<std::string> dirs;     ///< absolute paths of STATE/vms/<name>
  bool empty() const { return dm.empty() && loops.empty() && dirs.empty(); }
  /// One line per object, for the plan.
  std::vector<std::string> describe() const;
};
DiskOrphans find_disk_orphans(const ObservedState& o);

}  // namespace banger
