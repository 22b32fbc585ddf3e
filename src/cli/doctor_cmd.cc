#include "cli/doctor_cmd.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <tuple>

#include "cli/host_flags.h"
#include "reconciler/host_facts.h"
#include "reconciler/runtime_choice.h"

namespace banger::cli {

namespace {

enum class Level { Ok, Warn, Fail };

struct Check {
  Level level;
  std::string name;
  std::string detail;  ///< what was found, and for warn/fail what to do
};

// KVM, the two binaries, and what each runtime setting makes of them here:
// the same facts and choice that diff and apply use.
void hypervisor_checks(const HypervisorHost& h, std::vector<Check>& out) {
  const KvmVerdict v = judge_kvm(h.kvm);
  const RuntimeChoice qemu = choose_runtime(Runtime::Qemu, h);
  if (v.usable) {
    out.push_back({Level::Ok, "kvm", v.why});
  } else {
    std::string then = h.accel == Accel::Kvm ? "; --accel kvm cannot work here"
                                             : "; QEMU will use TCG (software emulation: slower, but boots any guest)";
    out.push_back({Level::Warn, "kvm", v.why + then});
  }
  if (!h.firecracker.empty()) {
    out.push_back({Level::Ok, "firecracker",
                   h.firecracker + (v.usable ? "" : " (but KVM here cannot boot an ordinary guest: see kvm)")});
  } else {
    out.push_back({Level::Warn, "firecracker", h.firecracker_why + "; runtime: auto uses QEMU"});
  }
  if (!h.qemu.empty()) {
    out.push_back({Level::Ok, "qemu", h.qemu + " (" + qemu.label() + ")"});
  } else {
    // Without QEMU, only a Firecracker that can boot a guest is left.
    bool fc_runs = !h.firecracker.empty() && v.usable;
    out.push_back({fc_runs ? Level::Warn : Level::Fail, "qemu",
                   h.qemu_why + (fc_runs ? "" : "; without KVM and Firecracker, QEMU is the only runtime that can boot VMs")});
  }
  const RuntimeChoice a = choose_runtime(Runtime::Auto, h);
  out.push_back(a.error.empty() ? Check{Level::Ok, "runtime", "auto runs VMs as " + a.label() + " (" + a.reason + ")"}
                                : Check{Level::Fail, "runtime", "auto cannot run VMs: " + a.error});
}

// Names and firewalls: dnsmasq for the networks' DNS, whether the host
// itself resolves .vm, and the host's own forward chains that drop.
void dns_checks(const HostFacts& f, const std::string& run_dir, std::vector<Check>& out) {
  out.push_back(!f.dnsmasq.empty() ? Check{Level::Ok, "dnsmasq", f.dnsmasq}
                                   : Check{Level::Warn, "dnsmasq", f.dnsmasq_why + " (networks serve DNS by default)"});
  for (const auto& [name, d] : f.dns) {
    out.push_back(d.running ? Check{Level::Ok, "dns", "Network/" + name + ": dnsmasq runs (as " + f.dns_user + ")"}
                            : Check{Level::Warn, "dns", "Network/" + name + ": dnsmasq is not running: banger apply restarts it"});
  }
  if (!f.dns.empty() && f.dns_user == "root") {
    out.push_back({Level::Warn, "dns",
                   "dnsmasq runs as root because a folder above " + run_dir +
                       "/networks is closed to others; chmod o+x it so that dnsmasq can drop root"});
  }
  for (const auto& [name, net] : f.networks) {
    if (!f.dns.count(name)) continue;
    const std::string& d = net.domain;
    if (f.resolved) {
      auto link = f.resolved_links.find(name);
      auto gw = parse_ipv4(net.gateway);
      bool routed = link != f.resolved_links.end() && link->second && gw &&
                    ResolvedDriver::routes(*link->second, *gw, d);
      out.push_back(routed ? Check{Level::Ok, "host ." + d,
                                   "systemd-resolved sends *." + d + " to " + net.gateway + " on " + net.bridge +
                                       " (Network/" + name + ")"}
                           : Check{Level::Warn, "host ." + d,
                                   "systemd-resolved does not send *." + d + " to " + net.gateway + " on " + net.bridge +
                                       " (Network/" + name + "): banger apply sets it"});
    } else {
      out.push_back({Level::Warn, "host ." + d,
                     "this host does not resolve ." + d + " names (no systemd-resolved); for Network/" + name +
                         " add this line to your resolver's config (dnsmasq, NetworkManager): server=/" + d + "/" +
                         net.gateway});
    }
  }
  if (!f.forward_error.empty()) {
    out.push_back({Level::Warn, "firewall", "not checked: " + f.forward_error});
    return;
  }
  bool dropping = false;
  for (const ForwardChain& c : f.forward_chains) {
    if (c.policy != "drop" || (c.family == "ip" && c.table == "banger")) continue;
    dropping = true;
    std::string fix;
    for (const auto& [name, net] : f.networks) {
      for (const std::string& line : forward_fix(c, net.bridge)) fix += "\n        " + line;
    }
    if (f.networks.empty()) {
      for (const std::string& line : forward_fix(c, "BRIDGE")) fix += "\n        " + line;
    }
    out.push_back({Level::Warn, "firewall",
                   "chain " + c.family + " " + c.table + " " + c.chain +
                       " drops forwarded traffic by default (Docker, ufw and firewalld do this), and no rule in banger's "
                       "table can override a drop in another table: unless its rules accept the VM bridges already, "
                       "VMs reach nothing through NAT or port forwards. To let them through:" + fix});
  }
  if (!dropping) out.push_back({Level::Ok, "firewall", "no forward chain of another table drops by default"});
}

std::vector<Check> run_checks(const std::string& state_dir, const HostFacts& f) {
  std::vector<Check> out;
  out.push_back(f.root ? Check{Level::Ok, "root", "running as root"}
                       : Check{Level::Fail, "root", "not root: run banger with sudo"});
  hypervisor_checks(f.hypervisors, out);
  out.push_back(f.tun          ? Check{Level::Ok, "tun", "/dev/net/tun is usable"}
                : f.tun_exists ? Check{Level::Fail, "tun", "/dev/net/tun cannot be opened: run banger as root"}
                               : Check{Level::Fail, "tun", "/dev/net/tun is missing: modprobe tun"});
  out.push_back(f.links ? Check{Level::Ok, "netlink", std::to_string(*f.links) + " links visible"}
                        : Check{Level::Fail, "netlink", f.netlink_error});
  out.push_back(f.nftables ? Check{Level::Ok, "nftables",
                                   f.nat_table ? "table ip banger present" : "nf_tables works (no banger table yet)"}
                 : !f.root ? Check{Level::Fail, "nftables", f.nftables_error + ": run banger doctor with sudo"}
                           : Check{Level::Fail, "nftables", f.nftables_error + ": modprobe nf_tables"});
  out.push_back(f.devmapper ? Check{Level::Ok, "device-mapper", "available for snapshot disks"}
                            : Check{Level::Warn, "device-mapper",
                                    f.devmapper_why + " (until then VM disks are reflinks or sparse copies)"});
  // What diskStrategy auto makes of a new disk here (an image on another
  // filesystem than the state dir cannot be reflinked: auto goes on).
  if (f.state_dir_exists) {
    out.push_back(f.reflink     ? Check{Level::Ok, "disks",
                                        "auto makes reflinks in " + state_dir + " (its filesystem shares extents)"}
                  : f.devmapper ? Check{Level::Ok, "disks", "auto makes device-mapper snapshots (" + f.reflink_why + ")"}
                                : Check{Level::Ok, "disks",
                                        "auto makes sparse copies (" + f.reflink_why + ", and no device-mapper)"});
  }
  if (!f.ip_forward) {
    out.push_back({Level::Warn, "ip_forward", f.ip_forward_error});
  } else {
    out.push_back(*f.ip_forward ? Check{Level::Ok, "ip_forward", "net.ipv4.ip_forward=1"}
                                : Check{Level::Warn, "ip_forward",
                                        "net.ipv4.ip_forward=0: banger turns it on when a network has nat: true"});
  }
  if (!f.state_dir_exists) {
    out.push_back({Level::Ok, "state dir", state_dir + " does not exist yet; apply creates it (0700)"});
  } else if (!f.state_dir_private) {
    out.push_back({Level::Fail, "state dir",
                   state_dir + " is writable by others or not owned by this user: chmod 700 " + state_dir});
  } else {
    out.push_back({Level::Ok, "state dir", state_dir + " is private"});
  }
  if (f.state_db_checked && f.state_db_problem.empty()) {
    out.push_back({Level::Ok, "state db", state_dir + "/state.db passes SQLite's quick_check"});
  } else if (f.state_db_checked) {
    // The records are how banger knows what it made: without them it would
    // leave its objects behind, so starting afresh means removing them first.
    out.push_back({Level::Fail, "state db",
                   f.state_db_problem + ". To start afresh: remove what banger made by hand (links bg-*, " +
                       "nft table ip banger, VM processes under the run dir), then move " + state_dir +
                       "/state.db and its -wal and -shm files away"});
  }
  return out;
}

int run_doctor(const GlobalOptions& g, const std::string& fc_flag, const std::string& accel_flag) {
  HostOptions host;
  host.state_dir = g.state_dir;
  host.firecracker_bin = fc_flag;
  try {
    std::tie(host.accel, host.accel_from) = accel_setting(accel_flag);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitError;
  }
  bool failed = false;
  host.run_dir = std::filesystem::absolute(g.run_dir).lexically_normal().string();
  const HostFacts facts = observe_host_facts(host);
  std::vector<Check> checks = run_checks(g.state_dir, facts);
  dns_checks(facts, host.run_dir, checks);
  for (const Check& c : checks) {
    const char* tag = c.level == Level::Ok ? "ok  " : c.level == Level::Warn ? "warn" : "fail";
    std::cout << tag << "  " << c.name << ": " << c.detail << "\n";
    failed = failed || c.level == Level::Fail;
  }
  return failed ? kExitError : kExitOk;
}

}  // namespace

void add_doctor_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto fc = std::make_shared<std::string>();
  auto accel = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("doctor", "Check that this host can run banger");
  cmd->footer("Exit status: 0 when no check fails (warnings allowed), 1 otherwise.");
  cmd->add_option("--firecracker", *fc, "Firecracker binary to check")->type_name("PATH");
  add_accel_flag(cmd, *accel);
  cmd->callback([&run, fc, accel, &g] { run = [fc, accel, &g] { return run_doctor(g, *fc, *accel); }; });
}

}  // namespace banger::cli
