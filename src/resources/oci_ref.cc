#include "resources/oci_ref.h"

#include <cctype>

namespace banger {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool is_path_component(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (lower_alnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !lower_alnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" || sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain := label ('.' label)* [':' port]; a label is alphanumeric with inner
// hyphens. An IPv6 literal in brackets is accepted as docker does.
bool is_domain(std::string_view s) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    host = s.substr(0, close + 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) return false;
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (host.empty()) return false;
  if (host.front() == '[') {
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    return host.size() > 2;
  }
  size_t at = 0;
  while (at <= host.size()) {
    size_t dot = host.find('.', at);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(at, dot - at);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    at = dot + 1;
  }
  return true;
}

// tag := [\w][\w.-]{0,127}
bool is_tag(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(s.front())) return false;
  for (char c : s) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string OciRef::str() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::optional<OciRef> parse_oci_ref(std::string_view text, std::string& why) {
  OciRef r;
  if (text.empty()) {
    why = "is empty";
    return std::nullopt;
  }
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view d = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (d.substr(0, 7) != "sha256:" || d.size() != 71 ||
        d.substr(7).find_first_not_of("0123456789abcdef") != std::string_view::npos) {
      why = "the digest \"" + std::string(d) + "\" is not sha256: and 64 lowercase hex digits";
      return std::nullopt;
    }
    r.digest = std::string(d);
  }
  // The tag follows the last ':' after the last '/' (a ':' before it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view t = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!is_tag(t)) {
      why = "the tag \"" + std::string(t) + "\" is not valid (letters, digits, _ . -, at most 128, not starting with . or -)";
      return std::nullopt;
    }
    r.tag = std::string(t);
  }
  // The first component is a registry when it looks like a host:
  // it has a '.' or a ':', or is "localhost" (docker's rule).
  std::string_view name = rest;
  if (size_t first = rest.find('/'); first != std::string_view::npos) {
    std::string_view head = rest.substr(0, first);
    if (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos || head == "localhost") {
      if (!is_domain(head)) {
        why = "the registry \"" + std::string(head) + "\" is not a host name or host:port";
        return std::nullopt;
      }
      r.registry = std::string(head);
      name = rest.substr(first + 1);
    }
  }
  if (r.registry.empty() || r.registry == "index.docker.io") r.registry = "docker.io";
  if (name.empty()) {
    why = "has no repository name";
    return std::nullopt;
  }
  for (size_t at = 0; at <= name.size();) {
    size_t end = name.find('/', at);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(at, end - at);
    if (!is_path_component(part)) {
      bool upper = false;
      for (char c : part) upper = upper || std::isupper(static_cast<unsigned char>(c));
      why = upper ? "the repository name must be lowercase (\"" + std::string(name) + "\")"
                  : "the repository \"" + std::string(name) + "\" is not valid (lowercase letters and digits, "
                    "separated by . _ __ - or /)";
      return std::nullopt;
    }
    at = end + 1;
  }
  r.repository = std::string(name);
  if (r.registry == "docker.io" && r.repository.find('/') == std::string::npos) r.repository = "library/" + r.repository;
  if (r.registry.size() + 1 + r.repository.size() > 255) {
    why = "the name is longer than 255 characters";
    return std::nullopt;
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::optional<OciPlatform> parse_oci_platform(std::string_view text, std::string& why) {
  OciPlatform p;
  std::string parts[3];
  int n = 0;
  for (size_t at = 0; at <= text.size() && n < 4;) {
    size_t end = text.find('/', at);
    if (end == std::string_view::npos) end = text.size();
    if (n < 3) parts[n] = std::string(text.substr(at, end - at));
    ++n;
    at = end + 1;
  }
  if (n < 2 || n > 3 || parts[0].empty() || parts[1].empty() || (n == 3 && parts[2].empty())) {
    why = "\"" + std::string(text) + "\" is not os/architecture[/variant]";
    return std::nullopt;
  }
  for (const std::string& s : parts) {
    for (char c : s) {
      if (!lower_alnum(c) && c != '_' && c != '-') {
        why = "\"" + std::string(text) + "\" is not os/architecture[/variant] (lowercase letters, digits, _ -)";
        return std::nullopt;
      }
    }
  }
  p.os = parts[0];
  p.architecture = parts[1];
  p.variant = n == 3 ? parts[2] : "";
  return p;
}

}  // namespace banger
