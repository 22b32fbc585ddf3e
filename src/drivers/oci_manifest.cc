#include "drivers/oci_manifest.h"

#include <nlohmann/json.hpp>

namespace banger {

using json = nlohmann::json;

namespace {

std::string media_of(const std::string& content_type) {
  std::string m = content_type.substr(0, content_type.find(';'));
  while (!m.empty() && m.back() == ' ') m.pop_back();
  return m;
}

bool descriptor(const json& j, const std::string& where, OciDescriptor& out, std::string& why) {
  if (!j.is_object()) {
    why = where + " is not an object";
    return false;
  }
  if (j.contains("mediaType") && j["mediaType"].is_string()) out.media_type = j["mediaType"].get<std::string>();
  if (!j.contains("digest") || !j["digest"].is_string() || !is_sha256_digest(j["digest"].get<std::string>())) {
    why = where + " has no sha256 digest";
    return false;
  }
  out.digest = j["digest"].get<std::string>();
  if (!j.contains("size") || !j["size"].is_number_unsigned()) {
    why = where + " has no size";
    return false;
  }
  out.size = j["size"].get<uint64_t>();
  if (j.contains("platform") && j["platform"].is_object()) {
    const json& p = j["platform"];
    OciPlatform pl;
    if (p.contains("os") && p["os"].is_string()) pl.os = p["os"].get<std::string>();
    if (p.contains("architecture") && p["architecture"].is_string()) pl.architecture = p["architecture"].get<std::string>();
    if (p.contains("variant") && p["variant"].is_string()) pl.variant = p["variant"].get<std::string>();
    out.platform = pl;
  }
  return true;
}

}  // namespace

bool is_sha256_digest(const std::string& d) {
  return d.size() == 71 && d.compare(0, 7, "sha256:") == 0 &&
         d.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

LayerCompression layer_compression(const std::string& media_type) {
  static const std::pair<const char*, LayerCompression> known[] = {
      {"application/vnd.oci.image.layer.v1.tar", LayerCompression::None},
      {"application/vnd.oci.image.layer.v1.tar+gzip", LayerCompression::Gzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", LayerCompression::Zstd},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", LayerCompression::Gzip},
      {"application/vnd.docker.image.rootfs.diff.tar", LayerCompression::None},
  };
  for (const auto& [m, c] : known) {
    if (media_type == m) return c;
  }
  return LayerCompression::Unknown;
}

std::optional<OciDocument> parse_oci_document(const std::string& body, const std::string& content_type,
                                              std::string& why) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    why = "is not a JSON object";
    return std::nullopt;
  }
  std::string media = media_of(content_type);
  if ((media.empty() || media == "application/json" || media == "application/octet-stream") && j.contains("mediaType") &&
      j["mediaType"].is_string()) {
    media = j["mediaType"].get<std::string>();
  }
  if (media.empty() || media == "application/json" || media == "application/octet-stream") {
    media = j.contains("manifests") ? oci_media::kIndex : oci_media::kManifest;  // an OCI document may omit it
  }
  if (j.contains("schemaVersion") && j["schemaVersion"] == 1) {
    why = "is a Docker schema 1 manifest, which is not supported (push the image again with a current client)";
    return std::nullopt;
  }
  OciDocument d;
  if (media == oci_media::kIndex || media == oci_media::kDockerList) {
    d.is_index = true;
    if (!j.contains("manifests") || !j["manifests"].is_array()) {
      why = "is an index without a manifests list";
      return std::nullopt;
    }
    size_t i = 0;
    for (const json& m : j["manifests"]) {
      OciDescriptor e;
      if (!descriptor(m, "manifests[" + std::to_string(i++) + "]", e, why)) return std::nullopt;
      d.manifests.push_back(std::move(e));
    }
    return d;
  }
  if (media != oci_media::kManifest && media != oci_media::kDockerManifest) {
    why = "has media type \"" + media + "\", which is neither an image manifest nor an index";
    return std::nullopt;
  }
  if (!j.contains("config") || !descriptor(j["config"], "config", d.config, why)) {
    if (why.empty()) why = "has no config";
    return std::nullopt;
  }
  if (!j.contains("layers") || !j["layers"].is_array()) {
    why = "has no layers list";
    return std::nullopt;
  }
  size_t i = 0;
  for (const json& l : j["layers"]) {
    OciDescriptor e;
    const std::string where = "layers[" + std::to_string(i++) + "]";
    if (!descriptor(l, where, e, why)) return std::nullopt;
    if (layer_compression(e.media_type) == LayerCompression::Unknown) {
      why = where + " has media type \"" + e.media_type + "\", which is not a tar, tar+gzip or tar+zstd layer";
      return std::nullopt;
    }
    d.layers.push_back(std::move(e));
  }
  return d;
}

std::optional<OciDescriptor> select_platform(const OciDocument& index, const OciPlatform& want, std::string& why) {
  std::string have;
  for (const OciDescriptor& m : index.manifests) {
    if (!m.platform) continue;
    const OciPlatform& p = *m.platform;
    if (p.os == "unknown" && p.architecture == "unknown") continue;  // attestations (buildx)
    if (p.os == want.os && p.architecture == want.architecture && (want.variant.empty() || p.variant == want.variant)) {
      return m;
    }
    have += (have.empty() ? "" : ", ") + p.str();
  }
  why = "has no image for platform " + want.str() + " (it has: " + (have.empty() ? "none" : have) + ")";
  return std::nullopt;
}

}  // namespace banger
