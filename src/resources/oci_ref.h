// An OCI image reference as `docker pull` reads it:
// [registry[:port]/]repo[:tag][@sha256:digest], with Docker Hub's defaults.
// Pure: the grammar of distribution/reference, no network.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace banger {

struct OciRef {
  std::string registry;    ///< "docker.io", "127.0.0.1:5000", "localhost:5000"
  std::string repository;  ///< "library/debian", "team/app"
  std::string tag;         ///< "12", "latest" when neither tag nor digest is given, "" with a digest alone
  std::string digest;      ///< "sha256:<64 hex>" or ""

  /// The host to talk to: Docker Hub's API is served by registry-1.docker.io.
  std::string api_host() const { return registry == "docker.io" ? "registry-1.docker.io" : registry; }
  /// What the manifests endpoint is asked for: the digest when pinned, else the tag.
  std::string reference() const { return digest.empty() ? tag : digest; }
  /// registry/repository[:tag][@digest], fully spelled out.
  std::string str() const;
  friend bool operator==(const OciRef&, const OciRef&) = default;
};

/// Parses `text`; nullopt with `why` set ("the tag \"x y\" is not valid")
/// when it is not a reference. Upper case in the repository is refused, as
/// docker does ("repository name must be lowercase").
std::optional<OciRef> parse_oci_ref(std::string_view text, std::string& why);

/// "linux/amd64", "linux/arm64/v8": os/architecture[/variant].
struct OciPlatform {
  std::string os, architecture, variant;
  std::string str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }
  friend bool operator==(const OciPlatform&, const OciPlatform&) = default;
};
std::optional<OciPlatform> parse_oci_platform(std::string_view text, std::string& why);

}  // namespace banger
