#include "resources/netaddr.h"

#include <charconv>

namespace banger {

std::string Ipv4::str() const {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 255) + "." +
         std::to_string((value >> 8) & 255) + "." + std::to_string(value & 255);
}

std::string Cidr::str() const { return base.str() + "/" + std::to_string(prefix); }

namespace {
// A decimal number without sign or leading zeros ("0" itself is fine).
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}
}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view s) {
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return std::nullopt;
    auto octet = parse_decimal(s.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    out = (out << 8) | *octet;
    s = i < 3 ? s.substr(dot + 1) : std::string_view{};
  }
  return Ipv4{out};
}

std::optional<Cidr> parse_cidr(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parse_ipv4(s.substr(0, slash));
  auto prefix = parse_decimal(s.substr(slash + 1), 32);
  if (!ip || !prefix) return std::nullopt;
  return Cidr{*ip, static_cast<int>(*prefix)};
}

}  // namespace banger
