// `banger gc`: what in the state dir no applied resource uses. Today that is
// the artifact store (verified downloads and partial ones); base loop devices
// and dm devices join as further GcItem kinds when the snapshot disk strategy
// lands (the seam: collect_garbage() gathers, remove_garbage() removes).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "state/store.h"

namespace banger {

struct GcItem {
  std::string kind;  ///< "artifact", "partial download"
  std::string path;
  uint64_t size = 0;
  std::string sha256;  ///< artifacts: the content's hash
  std::string url;     ///< where it came from, when recorded
};

/// The sha256 of every downloaded artifact that an applied Kernel (kernel,
/// initrd) or Image names. Pure: from the records' applied spec fields.
std::set<std::string> artifacts_in_use(const std::vector<ResourceRecord>& applied);

/// Files under STATE/artifacts that no applied resource uses, sorted by path.
/// Call with the host lock held: no download is under way then.
std::vector<GcItem> collect_garbage(Store& store, const std::string& state_dir);

/// Removes the items and their records; absent is success. Throws HostError.
void remove_garbage(Store& store, const std::vector<GcItem>& items);

}  // namespace banger
