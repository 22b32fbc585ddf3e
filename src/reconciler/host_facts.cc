#include "reconciler/host_facts.h"

#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/devmapper.h"
#include "drivers/dnsmasq.h"
#include "reconciler/applied_spec.h"
#include "drivers/disk.h"
#include "drivers/nat.h"
#include "drivers/netlink.h"
#include "drivers/resolved.h"
#include "drivers/sysctl.h"
#include "state/store.h"

namespace banger {

HostFacts observe_host_facts(const HostOptions& opts) {
  HostFacts f;
  f.root = ::geteuid() == 0;
  f.tun = ::access("/dev/net/tun", R_OK | W_OK) == 0;
  f.tun_exists = ::access("/dev/net/tun", F_OK) == 0;
  try {
    Netlink nl;
    f.links = nl.dump().by_name.size();
  } catch (const std::exception& e) {
    f.netlink_error = e.what();
  }
  // Not as another user: libnftables then prints "Operation not permitted
  // (you must be root)" to stderr itself, a stray line in doctor's report.
  if (!f.root) {
    f.nftables_error = "not checked: listing nftables needs root (CAP_NET_ADMIN)";
  } else {
    try {
      NatDriver nat;
      f.nat_table = nat.observe().table_exists;
      f.nftables = true;
    } catch (const std::exception& e) {
      f.nftables_error = e.what();
    }
    try {
      f.forward_chains = list_forward_chains();
    } catch (const std::exception& e) {
      f.forward_error = e.what();
    }
  }
  f.devmapper = DeviceMapper::available(&f.devmapper_why);
  struct stat st;
  if (::stat(opts.state_dir.c_str(), &st) == 0) {
    f.state_dir_exists = true;
    f.state_dir_private = (st.st_mode & 022) == 0 && st.st_uid == ::geteuid();
    f.reflink = DiskDriver::reflink_supported(opts.state_dir, &f.reflink_why);
    const std::string db = opts.state_dir + "/state.db";
    if (f.root && f.state_dir_private && ::stat(db.c_str(), &st) == 0) {
      f.state_db_checked = true;
      try {
        Store store(opts.state_dir);
        std::string check = store.quick_check();
        if (check != "ok") f.state_db_problem = db + ": SQLite's quick_check says: " + check;
        for (const std::string& d : store.schema_drift()) {
          f.state_db_problem += (f.state_db_problem.empty() ? db + ": " : "; ") + d;
        }
        for (const ResourceRecord& r : store.resources()) {
          if (r.kind != "Network") continue;
          Network n = applied_network(r);
          f.networks[r.name] = {n.bridge.value, n.subnet.value.gateway().str(), n.dns.domain};
        }
      } catch (const HostError& e) {
        f.state_db_problem = e.what();
      }
    }
  }
  try {
    f.ip_forward = ipv4_forwarding_enabled();
  } catch (const std::exception& e) {
    f.ip_forward_error = e.what();
  }
  f.hypervisors = observe_hypervisors(opts);
  try {
    f.dnsmasq = find_dnsmasq();
  } catch (const std::exception& e) {
    f.dnsmasq_why = e.what();
  }
  const std::string dns_root = opts.run_dir + "/networks";
  f.dns = observe_dns(dns_root);
  f.dns_user = dnsmasq_user_for(dns_root);
  // Asked on the bus (the system bus, or $DBUS_SYSTEM_BUS_ADDRESS), as
  // banger talks to it.
  f.resolved = ResolvedDriver::running();
  if (f.resolved) {
    std::map<std::string, int> bridges;
    for (const auto& [name, net] : f.networks) {
      if (unsigned ifindex = ::if_nametoindex(net.bridge.c_str())) bridges[name] = static_cast<int>(ifindex);
    }
    f.resolved_links = ResolvedDriver().links(bridges);
  }
  return f;
}

}  // namespace banger
