// The few sysctls banger needs, per network namespace (/proc/sys/net follows
// the calling thread's namespace).
#pragma once

#include <string>

namespace banger {

bool ipv4_forwarding_enabled();
void set_ipv4_forwarding(bool on);  ///< throws HostError
void set_route_localnet(const std::string& ifname, bool on);
bool route_localnet_enabled(const std::string& ifname);
/// disable_ipv6=1 on the interface (IPv4 only: no link-local address for a
/// server to bind). True when it changed; false also without IPv6 at all.
bool turn_off_ipv6(const std::string& ifname);

}  // namespace banger
