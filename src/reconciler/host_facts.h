// What `banger doctor` reports about this host, read through the drivers in
// one place: the CLI only turns these facts into ok/warn/fail lines and
// touches no driver itself (cli -> reconciler -> drivers).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "drivers/resolved.h"
#include "drivers/firewall.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/runtime_choice.h"

namespace banger {

struct HostFacts {
  bool root = false;
  bool tun = false;                      ///< /dev/net/tun opens for reading and writing
  bool tun_exists = false;  ///< present, whether or not this user may open it
  std::optional<size_t> links;           ///< links one netlink dump shows; nullopt: netlink_error
  std::string netlink_error;
  bool nftables = false;                 ///< nf_tables answered a listing
  bool nat_table = false;                ///< table ip banger exists
  std::string nftables_error;
  bool devmapper = false;
  std::string devmapper_why;             ///< why not (no side effects were made to find out)
  bool state_dir_exists = false;
  bool state_dir_private = false;        ///< owned by this user, not writable by others
  /// STATE/state.db, opened as apply would and checked (PRAGMA quick_check,
  /// schema drift); only as root, and only when it exists. "" when sound.
  bool state_db_checked = false;
  std::string state_db_problem;
  bool reflink = false;                  ///< FICLONE works in the state dir
  std::string reflink_why;
  std::optional<bool> ip_forward;        ///< nullopt: ip_forward_error
  std::string ip_forward_error;
  HypervisorHost hypervisors;
  // Names and firewalls (doctor's "dnsmasq", "dns", "host .vm", "firewall").
  std::string dnsmasq;                   ///< its path, "" when not found (dnsmasq_why)
  std::string dnsmasq_why;
  std::map<std::string, ObservedDns> dns;  ///< the servers under RUN/networks
  std::string dns_user;                  ///< who they run as (dnsmasq_user_for)
  struct NetworkFacts {
    std::string bridge, gateway, domain;
  };
  std::map<std::string, NetworkFacts> networks;  ///< applied networks by name
  bool resolved = false;                 ///< systemd-resolved runs here
  /// What resolved holds for each network's bridge (resolved running only).
  std::map<std::string, std::optional<ResolvedLink>> resolved_links;
  std::vector<ForwardChain> forward_chains;  ///< nullopt-like: forward_error
  std::string forward_error;
};

/// Every fact at once (a few ms; boots nothing, changes nothing).
HostFacts observe_host_facts(const HostOptions& opts);

}  // namespace banger
