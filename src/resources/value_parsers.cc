#include "resources/value_parsers.h"

#include <regex>

#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

using Problem = DocReader::Problem;

bool parse_nonempty_string(const YAML::Node& n, std::string& out, Problem& p) {
  if (!DocReader::parse_string(n, out, p)) return false;
  if (out.empty()) p.what = "is empty";
  return !out.empty();
}

// A size given as "512Mi" or as a byte count, whole MiB, within [min, max].
DocReader::Parse<uint64_t> size_parser(uint64_t min, uint64_t max) {
  return [min, max](const YAML::Node& n, uint64_t& out, Problem& p) {
    ScalarValue v = read_scalar(n);
    std::optional<uint64_t> bytes;
    if (v.type == YamlType::Int && !v.int_overflow && v.integer >= 0) {
      bytes = static_cast<uint64_t>(v.integer);
    } else if (v.type == YamlType::String) {
      bytes = parse_size(v.text);
      if (!bytes) {
        p.what = quote(v.text) + " is not a valid size";
        return false;
      }
    } else if (v.type != YamlType::Int) {
      p.what = DocReader::wrong_type(n);
      return false;
    }
    if (!bytes || *bytes < min || *bytes > max) {
      p.what = describe_value(n) + " is out of range";
      return false;
    }
    if (*bytes % MiB != 0) {
      p.what = describe_value(n) + " is not a whole number of Mi";
      return false;
    }
    out = *bytes;
    return true;
  };
}

bool parse_duration_field(const YAML::Node& n, std::chrono::milliseconds& out, Problem& p) {
  ScalarValue v = read_scalar(n);
  std::optional<std::chrono::milliseconds> d;
  if (v.type == YamlType::Int && !v.int_overflow && v.integer >= 0 && v.integer < 1'000'000) {
    d = std::chrono::seconds(v.integer);
  } else if (v.type == YamlType::String) {
    d = parse_duration(v.text);
    if (!d) {
      p.what = quote(v.text) + " is not a valid duration";
      return false;
    }
  } else if (v.type != YamlType::Int) {
    p.what = DocReader::wrong_type(n);
    return false;
  }
  if (!d || *d < std::chrono::seconds(1) || *d > std::chrono::hours(1)) {
    p.what = describe_value(n) + " is out of range";
    return false;
  }
  out = *d;
  return true;
}

bool parse_ip(const YAML::Node& n, Ipv4& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  auto ip = parse_ipv4(s);
  if (!ip) p.what = quote(s) + " is not a valid IPv4 address";
  if (ip) out = *ip;
  return ip.has_value();
}

bool parse_subnet(const YAML::Node& n, Cidr& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  auto c = parse_cidr(s);
  if (!c) {
    p.what = quote(s) + " is not a valid CIDR";
    return false;
  }
  if (c->prefix < 16 || c->prefix > 29) {
    p.what = quote(s) + " has a /" + std::to_string(c->prefix) + " prefix";
    return false;
  }
  if (c->base != c->network()) {
    p.what = quote(s) + " has host bits set";
    p.hint = "did you mean " + quote(Cidr{c->network(), c->prefix}.str()) + "?";
    return false;
  }
  out = *c;
  return true;
}

bool parse_sha256(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  static const std::regex re("[0-9a-fA-F]{64}");
  if (!std::regex_match(s, re)) {
    p.what = quote(s) + " is not a SHA-256 digest";
    return false;
  }
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out = s;
  return true;
}

bool parse_url(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  static const std::regex re(R"((https?|file)://[^\s]+)");
  if (!std::regex_match(s, re)) {
    p.what = quote(s) + " is not a supported URL";
    return false;
  }
  out = s;
  return true;
}

bool parse_bridge(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  if (s.size() > kMaxIfName) {
    p.what = quote(s) + " is " + std::to_string(s.size()) + " characters long";
    return false;
  }
  if (!is_interface_name(s)) {
    p.what = quote(s) + " is not a valid interface name";
    return false;
  }
  out = s;
  return true;
}

}  // namespace banger
