#include "drivers/oci_registry.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/host_error.h"
#include "drivers/curl_lib.h"
#include "drivers/oci_manifest.h"
#include "drivers/sha256.h"
#include "resources/base64.h"
#include "resources/names.h"

namespace banger {

using json = nlohmann::json;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

size_t on_body(char* data, size_t size, size_t n, void* p) {
  auto* out = static_cast<std::string*>(p);
  // A manifest or a token is small; a registry that streams more is broken.
  if (out->size() + size * n > (8u << 20)) return 0;
  out->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* p) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(p);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) headers->clear();  // a new response (after a redirect)
  size_t colon = line.find(':');
  if (colon != std::string::npos) (*headers)[to_lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  return size * n;
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<RegistryCredentials> docker_config_credentials(const std::string& json_text, const std::string& registry,
                                                             const std::string& file) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw HostError(file + ": is not a JSON object (expected a docker config.json)");
  if (!j.contains("auths") || !j["auths"].is_object()) return std::nullopt;
  std::vector<std::string> keys = {registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v2/",
                                   "https://" + registry + "/v1/"};
  if (registry == "docker.io") keys.insert(keys.begin(), {"https://index.docker.io/v1/", "index.docker.io"});
  for (const std::string& k : keys) {
    if (!j["auths"].contains(k) || !j["auths"][k].is_object()) continue;
    const json& a = j["auths"][k];
    if (a.contains("auth") && a["auth"].is_string() && !a["auth"].get<std::string>().empty()) {
      auto pair = base64_decode(a["auth"].get<std::string>());
      size_t colon = pair ? pair->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        throw HostError(file + ": auths[\"" + k + "\"].auth is not base64 of \"user:password\"");
      }
      return RegistryCredentials{pair->substr(0, colon), pair->substr(colon + 1)};
    }
    if (a.contains("username") && a["username"].is_string() && a.contains("password") && a["password"].is_string()) {
      return RegistryCredentials{a["username"].get<std::string>(), a["password"].get<std::string>()};
    }
  }
  return std::nullopt;
}

std::optional<AuthChallenge> parse_www_authenticate(const std::string& header) {
  AuthChallenge c;
  size_t sp = header.find(' ');
  c.scheme = header.substr(0, sp);
  if (c.scheme.empty()) return std::nullopt;
  std::string lower_scheme = to_lower(c.scheme);
  c.scheme = lower_scheme == "bearer" ? "Bearer" : lower_scheme == "basic" ? "Basic" : c.scheme;
  size_t at = sp == std::string::npos ? header.size() : sp + 1;
  while (at < header.size()) {
    while (at < header.size() && (header[at] == ' ' || header[at] == ',')) ++at;
    size_t eq = header.find('=', at);
    if (eq == std::string::npos) break;
    std::string key = to_lower(trim(header.substr(at, eq - at)));
    std::string value;
    at = eq + 1;
    if (at < header.size() && header[at] == '"') {
      ++at;
      while (at < header.size() && header[at] != '"') {
        if (header[at] == '\\' && at + 1 < header.size()) ++at;
        value += header[at++];
      }
      ++at;  // the closing quote
    } else {
      size_t end = header.find(',', at);
      if (end == std::string::npos) end = header.size();
      value = trim(header.substr(at, end - at));
      at = end;
    }
    c.params[key] = value;
  }
  return c;
}

OciRegistry::OciRegistry(OciRef ref, bool insecure, std::optional<RegistryCredentials> creds,
                         std::chrono::seconds timeout)
    : ref_(std::move(ref)), insecure_(insecure), creds_(std::move(creds)), timeout_(timeout) {}

std::string OciRegistry::base_url() const { return (insecure_ ? "http://" : "https://") + ref_.api_host(); }

std::string OciRegistry::blob_url(const std::string& digest) const {
  return base_url() + "/v2/" + ref_.repository + "/blobs/" + digest;
}

std::vector<std::string> OciRegistry::auth_headers() const {
  if (authorization_.empty()) return {};
  return {authorization_};
}

std::string OciRegistry::what() const { return ref_.str(); }

OciRegistry::Response OciRegistry::get(const std::string& url, const std::vector<std::string>& headers) const {
  const CurlLib& api = curl_api();
  std::unique_ptr<CURL, decltype(CurlLib::curl_easy_cleanup)> curl(api.curl_easy_init(), api.curl_easy_cleanup);
  if (!curl) throw HostError(what() + ": libcurl could not create a handle (out of memory?)");
  CURL* c = curl.get();
  Response r;
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = api.curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, decltype(CurlLib::curl_slist_free_all)> owned(list, api.curl_slist_free_all);
  api.curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  api.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  api.curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  api.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_.count()));
  api.curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_.count() * 4));
  api.curl_easy_setopt(c, CURLOPT_USERAGENT, "banger");
  api.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  api.curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  api.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  api.curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  api.curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  api.curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  CURLcode rc = api.curl_easy_perform(c);
  if (rc != CURLE_OK) {
    throw HostError(what() + ": cannot reach " + url + ": " + (errbuf[0] ? std::string(errbuf) : api.curl_easy_strerror(rc)) +
                        (insecure_ ? "" : " (a plain-HTTP registry needs insecure: true)"),
                    ErrorCode::Io);
  }
  api.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

bool OciRegistry::authenticate(const std::string& challenge_header) {
  auto ch = parse_www_authenticate(challenge_header);
  if (!ch) return false;
  if (ch->scheme == "Basic") {
    if (!creds_) return false;
    authorization_ = "Authorization: Basic " + base64_encode(creds_->username + ":" + creds_->password);
    return true;
  }
  if (ch->scheme != "Bearer" || ch->params["realm"].empty()) return false;
  std::string url = ch->params["realm"];
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  if (!ch->params["service"].empty()) {
    url += sep + "service=" + url_escape(ch->params["service"]);
    sep = "&";
  }
  const std::string scope = ch->params["scope"].empty() ? "repository:" + ref_.repository + ":pull" : ch->params["scope"];
  url += sep + "scope=" + url_escape(scope);
  std::vector<std::string> headers;
  if (creds_) headers.push_back("Authorization: Basic " + base64_encode(creds_->username + ":" + creds_->password));
  Response r = get(url, headers);
  if (r.status == 401 || r.status == 403) {
    throw HostError(what() + ": the token service " + ch->params["realm"] + " refused " +
                        (creds_ ? "the credentials for " + creds_->username : std::string("an anonymous pull")) +
                        " (HTTP " + std::to_string(r.status) + "; check credentialsFile)",
                    ErrorCode::Invalid);
  }
  if (r.status != 200) {
    throw HostError(what() + ": the token service " + ch->params["realm"] + " answered HTTP " + std::to_string(r.status),
                    ErrorCode::Io);
  }
  json j = json::parse(r.body, nullptr, false);
  std::string token;
  if (j.is_object() && j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
  if (token.empty() && j.is_object() && j.contains("access_token") && j["access_token"].is_string()) {
    token = j["access_token"].get<std::string>();
  }
  if (token.empty()) throw HostError(what() + ": the token service " + ch->params["realm"] + " sent no token");
  authorization_ = "Authorization: Bearer " + token;
  return true;
}

OciRegistry::Manifest OciRegistry::manifest(const std::string& reference) {
  const std::string url = base_url() + "/v2/" + ref_.repository + "/manifests/" + reference;
  auto request = [&] {
    std::vector<std::string> h{std::string("Accept: ") + oci_media::kAccept};
    if (!authorization_.empty()) h.push_back(authorization_);
    return get(url, h);
  };
  Response r = request();
  if (r.status == 401 && authorization_.empty() && authenticate(r.headers["www-authenticate"])) r = request();
  const std::string at = what() + (reference == ref_.reference() ? "" : " (" + reference + ")");
  if (r.status == 401 || r.status == 403) {
    throw HostError(at + ": the registry refused access (HTTP " + std::to_string(r.status) + ")" +
                        (creds_ ? ": check the credentials for " + creds_->username : ": set credentialsFile"),
                    ErrorCode::Invalid);
  }
  if (r.status == 404) {
    throw HostError(at + ": not found in the registry (no such repository, tag or digest)", ErrorCode::NotFound);
  }
  if (r.status != 200) {
    throw HostError(at + ": the registry answered HTTP " + std::to_string(r.status) + " for " + url, ErrorCode::Io);
  }
  Manifest m;
  m.body = std::move(r.body);
  m.content_type = r.headers["content-type"];
  m.digest = "sha256:" + sha256_hex(m.body);
  const std::string named = r.headers["docker-content-digest"];
  if (is_sha256_digest(reference) && m.digest != reference) {
    throw HostError(at + ": the manifest the registry sent has digest " + m.digest + ", not " + reference +
                    " (corrupted or tampered with)");
  }
  if (is_sha256_digest(named) && named != m.digest) {
    throw HostError(at + ": the manifest the registry sent has digest " + m.digest + ", but it named " + named +
                    " (corrupted or tampered with)");
  }
  return m;
}

}  // namespace banger
