// An Image from an OCI registry: the tag resolved to a manifest digest (an
// index resolved for the platform), each layer fetched into the artifact
// store by its digest (verified while it streams, resumed after a cut),
// the layers unpacked into a staging folder and made an ext4 image with
// `mke2fs -d`, no mount. Cached by manifest digest:
//   STATE/images/oci/<hex>.ext4       the image, read only (0444)
//   STATE/images/oci/tmp/<hex>/       staging, removed when done or failed
//   STATE/images/oci/tmp/<hex>.ext4   the image being made
// Nothing half-made is ever at the final name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "drivers/artifact_store.h"
#include "drivers/oci_registry.h"
#include "resources/oci_ref.h"

namespace banger {

struct OciPullRequest {
  std::string label;  ///< "Image/web"
  OciRef ref;
  OciPlatform platform{"linux", "amd64", ""};
  bool insecure = false;
  std::optional<RegistryCredentials> credentials;
  /// The ext4 size; nullopt = the content plus 25%, rounded up to a MiB.
  std::optional<uint64_t> size;
};

struct OciPulled {
  std::string manifest_digest;  ///< "sha256:...", of the platform's image manifest
  std::string path;             ///< STATE/images/oci/<hex>.ext4
  uint64_t size = 0;            ///< of the image file
  uint64_t content_bytes = 0;   ///< unpacked file content
  int layers_downloaded = 0;    ///< 0 when every layer was in the store
  bool cached = false;          ///< the image was there already
};

/// The manifest digest `ref` names now (tag resolved) for the platform.
std::string resolve_oci_digest(OciRegistry& registry, const OciPullRequest& req);

/// Pulls and flattens (or finds in the cache) the image. Throws HostError
/// naming req.label and the reference; leaves no image file behind then.
OciPulled pull_oci_image(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req);

/// Where the image for a manifest digest is cached.
std::string oci_image_path(const std::string& state_dir, const std::string& manifest_digest);

}  // namespace banger
