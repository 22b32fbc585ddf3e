// systemd-resolved's per-link DNS over its D-Bus API (sd-bus, libsystemd,
// opened on first use): a network's bridge gets the network's DNS server
// (its gateway, where dnsmasq listens) and a routing-only domain (`~vm`), so
// the host resolves NAME.vm there and nothing else; undone with RevertLink.
// The bus is the system bus, or $DBUS_SYSTEM_BUS_ADDRESS when set (as
// sd_bus_open_system reads it). No resolvectl: no process per call.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/op_result.h"
#include "resources/netaddr.h"

struct sd_bus;  // systemd/sd-bus.h, opened on first use (drivers/resolved.cc)

namespace banger {

/// What resolved holds for one link.
struct ResolvedLink {
  std::vector<Ipv4> dns;                   ///< its IPv4 DNS servers
  std::vector<std::string> route_domains;  ///< routing-only domains ("vm" for ~vm)
  std::vector<std::string> search_domains;
  friend bool operator==(const ResolvedLink&, const ResolvedLink&) = default;
};

class ResolvedDriver {
 public:
  /// Whether systemd-resolved runs: its bus name has an owner. False when
  /// there is no system bus or libsystemd. Never throws.
  static bool running();

  /// The link's DNS servers and domains; nullopt when resolved does not
  /// know the link. Throws HostError when resolved cannot be asked.
  std::optional<ResolvedLink> link(int ifindex);

  /// link() for each of `ifindexes` (by any key, a network's name say),
  /// nullopt for one resolved does not know or cannot be asked about.
  std::map<std::string, std::optional<ResolvedLink>> links(const std::map<std::string, int>& ifindexes);

  /// Sets `server` as the link's only DNS server, `domain` as its only
  /// (routing-only) domain, default-route off, LLMNR and mDNS off: queries
  /// for NAME.domain go to `server`, and no other query goes to the link.
  /// Unchanged when the link has exactly that already. Throws HostError.
  OpResult route(int ifindex, Ipv4 server, const std::string& domain);

  /// Forgets everything set on the link (RevertLink). Absent is success.
  void revert(int ifindex);

  /// Whether `l` is what route(server, domain) sets.
  static bool routes(const ResolvedLink& l, Ipv4 server, const std::string& domain);

 private:
  /// One connection for every call of this driver (an instance is used by
  /// one thread), opened on the first.
  sd_bus* bus();
  std::shared_ptr<sd_bus> bus_;
};

}  // namespace banger
