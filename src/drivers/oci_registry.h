// A client of the OCI distribution API over libcurl: manifests by tag or
// digest (verified against the digest), blob URLs and the headers that let
// download_to_file fetch them, and the registry's authentication: anonymous,
// HTTP Basic, or the Bearer token flow (a 401 with WWW-Authenticate: Bearer
// realm=...,service=...,scope=... sends banger to the realm for a token, with
// the Basic credentials when it has them), as docker and skopeo do.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resources/oci_ref.h"

namespace banger {

struct RegistryCredentials {
  std::string username, password;
};

/// The credentials a docker config.json (`credentialsFile`) holds for
/// `registry`: auths[KEY].auth (base64 "user:password") or .username and
/// .password, where KEY is the registry, "https://registry", or for Docker
/// Hub "https://index.docker.io/v1/". nullopt when it names none; throws
/// HostError naming the file when it is not such a file.
std::optional<RegistryCredentials> docker_config_credentials(const std::string& json_text, const std::string& registry,
                                                             const std::string& file);

/// One WWW-Authenticate challenge: "Bearer" or "Basic", and its parameters
/// (realm, service, scope). Pure.
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::optional<AuthChallenge> parse_www_authenticate(const std::string& header);

class OciRegistry {
 public:
  OciRegistry(OciRef ref, bool insecure, std::optional<RegistryCredentials> creds,
              std::chrono::seconds timeout = std::chrono::seconds(30));

  struct Manifest {
    std::string body;
    std::string content_type;
    std::string digest;  ///< "sha256:...", of the body (checked against the pinned digest)
  };
  /// GET /v2/REPO/manifests/REFERENCE (a tag or a digest). Throws HostError
  /// naming the reference: unreachable, 401/403, unknown (404), a body
  /// whose sha256 is not the digest asked for or the one the registry named.
  Manifest manifest(const std::string& reference);

  /// Where blob `digest` is, and the headers download_to_file must send.
  std::string blob_url(const std::string& digest) const;
  std::vector<std::string> auth_headers() const;

  /// "http://127.0.0.1:5000" or "https://registry-1.docker.io".
  std::string base_url() const;
  const OciRef& ref() const { return ref_; }

 private:
  struct Response {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  ///< lowercase names
  };
  Response get(const std::string& url, const std::vector<std::string>& headers) const;
  /// After a 401: fetches a token for the challenge (or settles on Basic);
  /// false when the challenge cannot be answered.
  bool authenticate(const std::string& challenge_header);
  std::string what() const;  ///< "127.0.0.1:5000/img/base:1", for messages

  OciRef ref_;
  bool insecure_;
  std::optional<RegistryCredentials> creds_;
  std::chrono::seconds timeout_;
  std::string authorization_;  ///< "Authorization: ..." once known
};

}  // namespace banger
