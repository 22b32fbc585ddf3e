#include "resources/readiness_text.h"

#include <algorithm>

#include "resources/quantity.h"

namespace banger {

std::string format_readiness(const Readiness& r) {
  switch (r.probe) {
    case Readiness::Probe::None: return "none";
    case Readiness::Probe::Tcp:
      return "tcp:" + std::to_string(r.port) + " timeout " + format_duration(r.timeout);
    case Readiness::Probe::Http:
      return "http:" + std::to_string(r.port) + r.path + " timeout " + format_duration(r.timeout);
  }
  return "?";
}

std::optional<Readiness> parse_readiness(const std::string& field) {
  if (field.empty() || field == "none") return std::nullopt;
  Readiness r;
  std::string probe = field;
  const std::string sep = " timeout ";
  if (size_t at = field.rfind(sep); at != std::string::npos) {
    auto d = parse_duration(field.substr(at + sep.size()));
    if (!d) return std::nullopt;
    r.timeout = *d;
    probe = field.substr(0, at);
  }
  std::string rest;
  if (probe.rfind("tcp:", 0) == 0) {
    r.probe = Readiness::Probe::Tcp;
    rest = probe.substr(4);
  } else if (probe.rfind("http:", 0) == 0) {
    r.probe = Readiness::Probe::Http;
    rest = probe.substr(5);
    size_t slash = rest.find('/');
    r.path = slash == std::string::npos ? "/" : rest.substr(slash);
    rest = rest.substr(0, slash);
  } else {
    return std::nullopt;
  }
  if (rest.empty() || rest.size() > 5 || !std::all_of(rest.begin(), rest.end(), ::isdigit)) return std::nullopt;
  int port = std::stoi(rest);
  if (port < 1 || port > 65535) return std::nullopt;
  r.port = static_cast<uint16_t>(port);
  return r;
}

}  // namespace banger
