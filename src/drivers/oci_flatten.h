// An OCI image's layers, unpacked in order into one folder with libarchive:
// whiteouts (.wh.NAME and opaque .wh..wh..opq) remove what lower layers put
// there; hard links, symlinks, devices, xattrs, owners and modes are kept.
// Nothing is written outside the folder: a path with "..", a hard link to
// outside or to nothing, a symlink that climbs above the root, and a write
// or whiteout through a symlink are refused, naming the layer and the path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

struct LayerFile {
  std::string path;    ///< the verified blob
  std::string digest;  ///< "sha256:...", for messages
};

struct FlattenStats {
  uint64_t bytes = 0;    ///< file content unpacked (the last layer's view, whiteouts not subtracted)
  uint64_t entries = 0;  ///< tar entries read, whiteouts included
};

/// Unpacks `layers` bottom first into `root`, an existing empty folder.
/// More than `max_bytes` of file content is refused (a decompression bomb,
/// or an image larger than the size it is given). Throws HostError.
FlattenStats flatten_layers(const std::vector<LayerFile>& layers, const std::string& root, uint64_t max_bytes);

/// A layer entry's path made relative and plain ("./usr//bin/" ->
/// "usr/bin"); "" for the root itself; nullopt when a component is "..". Pure.
std::optional<std::string> clean_layer_path(std::string_view path);
/// Whether symlink `link` (a clean path) with `target` stays inside the root
/// when resolved from the link's folder. Absolute targets do (the guest
/// resolves them against its own root). Pure.
bool symlink_stays_inside(std::string_view link, std::string_view target);

}  // namespace banger
