// HostReconciler::sync_dns and the DNS half of deleting a network: each
// network's dnsmasq serves the names and DHCP reservations of the VM records.
#include <filesystem>
#include <set>

#include "common/host_error.h"
#include "drivers/dnsmasq.h"
#include "drivers/resolved.h"
#include "drivers/netlink.h"
#include "drivers/sysctl.h"
#include "reconciler/dns_target.h"
#include "reconciler/host_reconciler.h"

namespace fs = std::filesystem;

namespace banger {

ActionOutcome HostReconciler::sync_dns(const Plan& plan) {
  const std::string root = dns_root();
  const std::string user = dnsmasq_user_for(root);
  // From the records alone, so that `delete` (whose manifests may name only
  // what goes) keeps the other networks' servers: a network created or
  // changed by this apply got its record before this step.
  std::map<std::string, VmRecord> vms;
  std::map<ResourceKey, ResourceRecord> applied;
  locked([&] {
    for (auto& v : store_.vms()) vms.emplace(v.name, v);
    for (auto& r : store_.resources()) {
      if (r.kind == "Network") applied.emplace(ResourceKey{Kind::Network, r.name}, r);
    }
  });
  const std::map<std::string, Network> networks = applied_networks(applied);
  const std::vector<DnsHost> hosts = dns_hosts(networks, vms);
  LinkSnapshot links;
  {
    std::lock_guard lock(net_mu_);
    Netlink nl;
    links = nl.dump();
  }
  ActionOutcome out;
  std::vector<std::string> failures;
  std::set<std::string> keep;
  std::string binary;
  std::optional<bool> resolved;
  for (const auto& [name, n] : networks) {
    // A network this plan deletes takes its server with it (delete-network).
    const Change* c = plan.diff.find({Kind::Network, name});
    if (!n.dns.enabled || (c && c->type == ChangeType::Delete)) continue;
    keep.insert(name);
    // A bridge that is not there (its ensure-network failed) has no address
    // to serve on; that failure was reported where it happened.
    const LinkState* bridge = links.find(n.bridge.value);
    if (!bridge || bridge->type != "bridge") {
      failures.push_back("Network/" + name + ": no bridge " + n.bridge.value + " to serve DNS on");
      continue;
    }
    const DnsServerSpec spec = dns_server_spec(n, root, user);
    const std::string owner = "Network/" + name;
    try {
      if (binary.empty()) binary = find_dnsmasq();
      // banger's networks are IPv4 only (the README says so): without the
      // bridge's link-local address, dnsmasq binds the gateway alone.
      turn_off_ipv6(n.bridge.value);
      locked([&] {
        store_.record_owned({"dns-server", spec.dir, owner});
      });
      OpResult r = journaled("ensure", "dns-server", spec.dir, owner,
                             [&] { return DnsmasqDriver(spec.dir).ensure(spec, hosts, binary); });
      if (r != OpResult::Unchanged) {
        out.add({"dns.ensure", owner, to_string(r), {{"address", n.subnet.value.gateway().str()}}});
      }
      // The host's own resolver sends NAME.DOMAIN here, where systemd-resolved
      // runs (asked once per sync: one bus call). It forgets the link with
      // the bridge; nothing else of it outlives the network.
      if (!resolved) resolved = ResolvedDriver::running();
      if (*resolved) {
        OpResult rr = ResolvedDriver().route(bridge->ifindex, n.subnet.value.gateway(), n.dns.domain);
        if (rr != OpResult::Unchanged) {
          out.add({"dns.route", owner, to_string(rr), {{"domain", n.dns.domain}, {"bridge", n.bridge.value}}});
        }
      }
    } catch (const std::exception& e) {
      failures.push_back(owner + ": " + e.what());
    }
  }
  // Servers of networks that are gone or have DNS off (one this plan deletes
  // is left to its delete-network, which runs next).
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const Change* c = plan.diff.find({Kind::Network, name});
    if (keep.count(name) || (c && c->type == ChangeType::Delete)) continue;
    remove_dns_server(name);
    // DNS turned off on a network that stays: its bridge no longer routes.
    auto net = networks.find(name);
    const LinkState* bridge = net == networks.end() ? nullptr : links.find(net->second.bridge.value);
    if (bridge) {
      if (!resolved) resolved = ResolvedDriver::running();
      if (*resolved) ResolvedDriver().revert(bridge->ifindex);
    }
    out.add({"dns.delete", "Network/" + name, "deleted", {}});
  }
  if (!failures.empty()) {
    std::string msg = "DNS servers: ";
    for (size_t i = 0; i < failures.size(); ++i) msg += (i ? "; " : "") + failures[i];
    throw HostError(msg);
  }
  if (out.steps.empty()) return ActionOutcome::noted("up to date");
  return out;
}

void HostReconciler::remove_dns_server(const std::string& network) {
  const std::string dir = dns_root() + "/" + network;
  journaled("delete", "dns-server", dir, "Network/" + network, [&] { DnsmasqDriver(dir).remove(); });
  locked([&] {
    store_.forget_owned("dns-server", dir);
  });
}

}  // namespace banger
