// The JSON documents of the OCI distribution API: image indexes (and Docker
// manifest lists) and image manifests (OCI and Docker v2 schema 2). Pure:
// bytes in, descriptors or a reason out; the registry client fetches them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "resources/oci_ref.h"

namespace banger {

namespace oci_media {
inline constexpr const char* kIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
/// What a manifest request accepts, most wanted first.
inline constexpr const char* kAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
}  // namespace oci_media

struct OciDescriptor {
  std::string media_type;
  std::string digest;  ///< "sha256:<64 hex>"
  uint64_t size = 0;
  std::optional<OciPlatform> platform;  ///< in an index
};

/// How a layer is compressed; Unknown is refused before anything is fetched.
enum class LayerCompression { None, Gzip, Zstd, Unknown };
LayerCompression layer_compression(const std::string& media_type);

struct OciDocument {
  bool is_index = false;
  std::vector<OciDescriptor> manifests;  ///< an index's entries
  OciDescriptor config;                  ///< a manifest's config
  std::vector<OciDescriptor> layers;     ///< a manifest's layers, bottom first
};

/// Parses a manifest or index. `content_type` is the response's
/// Content-Type; when it is empty or generic the document's own mediaType
/// (or its shape) decides. nullopt with `why` for anything else: a schema 1
/// manifest, a missing or malformed digest, a layer whose media type is not
/// a tar (plain, gzip or zstd).
std::optional<OciDocument> parse_oci_document(const std::string& body, const std::string& content_type,
                                              std::string& why);

/// The index entry for `want` (os and architecture equal; the variant equal
/// when `want` names one, else any). nullopt with `why` listing what the
/// index has ("linux/arm64, linux/arm/v7").
std::optional<OciDescriptor> select_platform(const OciDocument& index, const OciPlatform& want, std::string& why);

/// "sha256:<64 lowercase hex>"
bool is_sha256_digest(const std::string& d);

}  // namespace banger
