// IPv4 addresses and CIDR blocks as plain values; parsing is strict
// (dotted quad, no leading zeros, no shorthand) so a typo is never a surprise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banger {

struct Ipv4 {
  uint32_t value = 0;  ///< host byte order
  std::string str() const;
  friend bool operator==(Ipv4, Ipv4) = default;
  friend auto operator<=>(Ipv4, Ipv4) = default;
};

struct Cidr {
  Ipv4 base;
  int prefix = 0;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  Ipv4 network() const { return {base.value & mask()}; }
  Ipv4 broadcast() const { return {network().value | ~mask()}; }
  /// banger gives the bridge the first host address, as Docker and libvirt do.
  Ipv4 gateway() const { return {network().value + 1}; }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network().value; }
  bool overlaps(const Cidr& o) const { return contains(o.network()) || o.contains(network()); }
  /// Dotted netmask, e.g. 255.255.255.0, as the kernel's ip= argument wants it.
  std::string netmask() const { return Ipv4{mask()}.str(); }
  std::string str() const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

std::optional<Ipv4> parse_ipv4(std::string_view s);
/// Accepts "A.B.C.D/N" with 0 <= N <= 32; host bits may be set (callers decide).
std::optional<Cidr> parse_cidr(std::string_view s);

}  // namespace banger
