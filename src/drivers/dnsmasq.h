// A network's DNS and DHCP server: dnsmasq (the server libvirt runs for the
// same job), started like a hypervisor (detached, reaped by banger-launch,
// known by pid + start time + exe) and told about VMs through two files it
// re-reads on SIGHUP, so that a VM coming or going never restarts it.
//
// Everything lives in the network's run dir: dnsmasq.conf, hosts,
// dhcp-hosts, dnsmasq.log, exit-status and dnsmasq.id (the identity).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "drivers/op_result.h"
#include "drivers/process.h"
#include "resources/netaddr.h"

namespace banger {

/// What one network's server serves. Pure data.
struct DnsServerSpec {
  std::string network;                 ///< "fleet"
  std::string bridge;                  ///< "bg-fleet": the only interface it binds
  Cidr subnet;                         ///< the bridge has subnet.gateway(): DNS, router
  std::string domain = "vm";
  std::vector<Ipv4> upstreams;         ///< empty: the host's /etc/resolv.conf
  std::string dir;                     ///< RUN/networks/NAME
  std::string user = "nobody";         ///< dnsmasq drops root for this user and group
  std::string group = "nogroup";
};

/// One name the server answers, and for a VM of its own network the DHCP
/// reservation MAC -> address.
struct DnsHost {
  std::string name;      ///< the VM
  std::string network;   ///< the VM's network
  std::string domain;    ///< that network's domain
  Ipv4 ip;
  std::string mac;       ///< "06:00:0A:2A:00:0B"
};

// ---- pure: the three files --------------------------------------------------
std::string dnsmasq_conf(const DnsServerSpec& s);
/// "IP NAME.DOMAIN NAME.NETWORK.DOMAIN" for every host (all networks, so any
/// network's server answers for any VM), sorted.
std::string dnsmasq_hosts(const std::vector<DnsHost>& hosts);
/// "MAC,IP,NAME" for the hosts on `network`, sorted.
std::string dnsmasq_dhcp_hosts(const std::string& network, const std::vector<DnsHost>& hosts);

/// The user dnsmasq runs as for servers under `root`: "nobody", which must
/// reach the hosts files there after dnsmasq drops root (it re-reads them on
/// SIGHUP), so "root" when a folder above `root` is closed to others (a
/// private --run-dir); doctor says so.
std::string dnsmasq_user_for(const std::string& root);

/// dnsmasq: $BANGER_DNSMASQ_BIN, else on PATH, else /usr/sbin/dnsmasq.
/// Throws HostError saying how to install it.
std::string find_dnsmasq();

/// What is in a network's run dir now.
struct DnsServerObserved {
  bool recorded = false;   ///< dnsmasq.id exists
  bool running = false;    ///< ...and that process is alive and the same one
  ProcessIdentity process;
  std::string conf, hosts, dhcp_hosts;  ///< the files' contents ("" when absent)
};

class DnsmasqDriver {
 public:
  explicit DnsmasqDriver(std::string dir) : dir_(std::move(dir)) {}

  DnsServerObserved observe() const;
  /// Writes the files and makes the server serve them: starts it when it is
  /// not running, restarts it when its config changed, else SIGHUPs it when
  /// a hosts file changed. Waits until it answers DNS on the gateway (so
  /// `apply` returning means names resolve). Throws HostError with the tail
  /// of dnsmasq's log when it does not start.
  OpResult ensure(const DnsServerSpec& spec, const std::vector<DnsHost>& hosts, const std::string& binary);
  /// Stops the recorded server and any dnsmasq still naming this dir (a
  /// crash between spawn and dnsmasq.id), then removes the dir. Absent is
  /// success; true when something was there.
  bool remove();

  std::string conf_path() const { return dir_ + "/dnsmasq.conf"; }
  std::string log_path() const { return dir_ + "/dnsmasq.log"; }

 private:
  void stop_running();
  ProcessIdentity start(const DnsServerSpec& spec, const std::string& binary);
  std::string dir_;
};

}  // namespace banger
