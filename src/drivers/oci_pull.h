// An Image from an OCI registry: the tag resolved to a manifest digest (an
// index resolved for the platform), each layer fetched into the artifact
// store by its digest (verified while it streams, resumed after a cut),
// the layers unpacked into a staging folder and made an ext4 image with
// `mke2fs -d`, no mount; or, for a Kernel, its /boot/vmlinux and initrd
// taken out. Cached by manifest digest:
//   STATE/images/oci/<hex>.ext4         the image, read only (0444)
//   STATE/images/oci/<hex>-<N>M.ext4    the same with an explicit size
//   STATE/images/oci/<hex>.boot/        a kernel image's kernel and initrd
//   STATE/images/oci/<hex>.json         what it was pulled as, and its layers (for gc)
//   STATE/images/oci/tmp/...            staging, removed when done or failed
// Nothing half-made is ever at a final name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  uint64_t bytes_resumed = 0;   ///< of those, bytes a cut download had already fetched
  bool cached = false;          ///< the image was there already
};

/// The manifest digest `ref` names now (tag resolved) for the platform.
std::string resolve_oci_digest(OciRegistry& registry, const OciPullRequest& req);

/// Pulls and flattens (or finds in the cache) the image. Throws HostError
/// naming req.label and the reference; leaves no image file behind then.
OciPulled pull_oci_image(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req);

/// Where the image for a manifest digest (and explicit size, 0 = none) is cached.
std::string oci_image_path(const std::string& state_dir, const std::string& manifest_digest, uint64_t size = 0);

struct OciKernelFiles {
  std::string manifest_digest;
  std::string kernel;  ///< STATE/images/oci/<hex>.boot/kernel
  std::string initrd;  ///< ".../initrd", or "" when the image has none
  bool cached = false;
  int layers_downloaded = 0;
};

/// Pulls a kernel image (or finds it in the cache): its /boot/vmlinux, else
/// the newest /boot/vmlinux-*, /boot/vmlinuz or /boot/vmlinuz-*; and
/// /boot/initrd.img*, /boot/initramfs* or /boot/initrd* when there is one.
/// Symlinks are followed inside the image's root, never the host's.
OciKernelFiles pull_oci_kernel(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req);

/// What STATE/images/oci holds: each pulled manifest, from its .json.
struct OciCached {
  std::string manifest_digest;
  std::string ref;       ///< as pulled, "127.0.0.1:5000/app:1"
  std::string platform;
  std::vector<std::string> layers;  ///< "sha256:..."
  std::vector<std::string> files;   ///< the images and .boot folders made from it
  uint64_t bytes = 0;               ///< their size on disk
};
std::vector<OciCached> list_oci_cache(const std::string& state_dir);

}  // namespace banger
