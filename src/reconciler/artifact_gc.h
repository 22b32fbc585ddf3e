// `banger gc`: what no applied resource uses: downloads in the artifact store
// (verified and partial), and the disk leftovers no record explains (dm
// devices, loop devices such as an image's base loop, VM folders).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "state/store.h"

namespace banger {

struct GcItem {
  /// "artifact", "partial download", "OCI image", "partial OCI image",
  /// "device-mapper device", "loop device", "VM folder"
  std::string kind;
  std::string path;  ///< a file or folder; a dm device's name; a loop device
  uint64_t size = 0;
  std::string sha256;  ///< artifacts: the content's hash
  std::string url;     ///< where it came from, when recorded; a loop device's backing file
};

/// The sha256 of every downloaded artifact that an applied Kernel (kernel,
/// initrd) or Image names, and the manifest digest (hex) of every `oci:`
/// one. Pure: from the records' applied spec fields.
std::set<std::string> artifacts_in_use(const std::vector<ResourceRecord>& applied);

/// `hashes` plus the layer blobs of the pulled manifests among them (from
/// STATE/images/oci/<hex>.json).
std::set<std::string> with_oci_layers(std::set<std::string> hashes, const std::string& state_dir);

/// Files under STATE/artifacts that no applied resource uses, sorted by path,
/// then disk leftovers in the order they must be removed.
/// Call with the host lock held: no download is under way then.
std::vector<GcItem> collect_garbage(Store& store, const std::string& state_dir);

/// Removes the items and their records; absent is success. Throws HostError.
void remove_garbage(Store& store, const std::vector<GcItem>& items);

}  // namespace banger
