// One DNS question over UDP (RFC 1035), answered or timed out: how banger
// knows a network's dnsmasq serves (after starting it, in doctor) without a
// resolver library or a `dig` shell-out.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "resources/netaddr.h"

namespace banger {

struct DnsAnswer {
  int rcode = 0;                  ///< 0 NOERROR, 3 NXDOMAIN, ...
  std::vector<Ipv4> addresses;    ///< the A records of the answer section
};

/// The query packet for `name`, type A, class IN, recursion desired. Pure.
std::string dns_query_packet(uint16_t id, const std::string& name);
/// Parses a reply to query `id`; nullopt when it is not one (wrong id, not a
/// response, truncated or malformed). Pure.
std::optional<DnsAnswer> parse_dns_reply(uint16_t id, const std::string& packet);

/// Asks server:53 (UDP) for name's A records. nullopt when no reply came in
/// time (nothing listening, dropped, or a malformed reply).
std::optional<DnsAnswer> dns_lookup(Ipv4 server, const std::string& name, std::chrono::milliseconds timeout,
                                    uint16_t port = 53);

/// Whether this network namespace's loopback is up. A query from the host to
/// one of its own addresses (a bridge's gateway) travels through lo: while lo
/// is down (a namespace just made) it is dropped, whoever listens.
bool loopback_up();
/// Whether /proc/net/udp's text lists a socket bound to addr:port. Pure.
bool udp_table_has(const std::string& proc_net_udp, Ipv4 addr, uint16_t port);
/// Whether a UDP socket is bound to addr:port in this network namespace: one
/// read of /proc/net/udp, no packet sent, so it holds with lo down too.
bool udp_bound(Ipv4 addr, uint16_t port);

}  // namespace banger
