#include "drivers/dnsmasq.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "common/host_error.h"
#include "common/read_file.h"
#include "common/write_file.h"
#include "drivers/dns_query.h"
#include "drivers/vm_files.h"
#include "resources/names.h"

namespace fs = std::filesystem;

namespace banger {

namespace {

constexpr auto kServeTimeout = std::chrono::seconds(5);
constexpr const char* kHowToInstall =
    "install it (apt-get install dnsmasq-base), set BANGER_DNSMASQ_BIN=PATH, or turn the server off with "
    "spec.dns.enabled: false";

std::string id_path(const std::string& dir) { return dir + "/dnsmasq.id"; }

std::optional<ProcessIdentity> read_identity(const std::string& dir) {
  auto text = read_small_file(id_path(dir));
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  ProcessIdentity p;
  in >> p.pid >> p.start_time;
  std::getline(in >> std::ws, p.exe);
  if (!in.eof() && in.fail()) return std::nullopt;
  if (p.pid <= 0 || p.exe.empty()) return std::nullopt;
  return p;
}

// "IP NAME.DOMAIN NAME.NETWORK.DOMAIN": one line of the hosts file.
std::string host_line(const DnsHost& h) {
  return h.ip.str() + " " + h.name + "." + h.domain + " " + h.name + "." + h.network + "." + h.domain;
}

}  // namespace

std::string dnsmasq_conf(const DnsServerSpec& s) {
  const Ipv4 gw = s.subnet.gateway();
  std::string c;
  c += "# Written by banger for Network/" + s.network + " and replaced by every apply: edits are undone.\n";
  // One interface and bind-interfaces: DNS on the bridge's address only
  // (never 0.0.0.0:53), and DHCP bound to this bridge alone (SO_BINDTODEVICE),
  // so that one server per network can run side by side. lo would be added
  // by interface= otherwise.
  c += "interface=" + s.bridge + "\n";
  c += "except-interface=lo\n";
  c += "bind-interfaces\n";
  c += "user=" + s.user + "\n";
  if (s.user != "root") c += "group=" + s.group + "\n";
  c += "pid-file=\n";          // banger knows the pid; no file in /run/dnsmasq
  c += "log-facility=-\n";     // stderr, which banger-launch sends to dnsmasq.log
  c += "no-hosts\n";           // not the host's /etc/hosts: only the VMs
  c += "addn-hosts=" + s.dir + "/hosts\n";
  c += "domain=" + s.domain + "\n";
  c += "local=/" + s.domain + "/\n";  // names in the domain are never asked upstream
  if (s.upstreams.empty()) {
    c += "resolv-file=/etc/resolv.conf\n";
  } else {
    c += "no-resolv\n";
    for (const Ipv4& u : s.upstreams) c += "server=" + u.str() + "\n";
  }
  // DHCP: reservations only (static), no pool; the address banger allocated
  // for each VM's MAC. No lease file: the reservations are the leases.
  c += "dhcp-range=" + s.subnet.network().str() + ",static," + s.subnet.netmask() + ",12h\n";
  c += "dhcp-hostsfile=" + s.dir + "/dhcp-hosts\n";
  c += "dhcp-option=option:router," + gw.str() + "\n";
  c += "dhcp-option=option:dns-server," + gw.str() + "\n";
  c += "dhcp-authoritative\n";
  c += "leasefile-ro\n";
  return c;
}

std::string dnsmasq_hosts(const std::vector<DnsHost>& hosts) {
  std::vector<std::string> lines;
  for (const DnsHost& h : hosts) lines.push_back(host_line(h));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string dnsmasq_dhcp_hosts(const std::string& network, const std::vector<DnsHost>& hosts) {
  std::vector<std::string> lines;
  for (const DnsHost& h : hosts) {
    if (h.network == network) lines.push_back(to_lower(h.mac) + "," + h.ip.str() + "," + h.name);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string dnsmasq_user_for(const std::string& root) {
  // The folders that exist on the way; RUN/networks itself is made 0755.
  for (fs::path p = fs::path(root).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) return "root";
    if (p == p.root_path()) break;
  }
  return "nobody";
}

std::string find_dnsmasq() {
  if (const char* env = std::getenv("BANGER_DNSMASQ_BIN"); env && *env) {
    return resolve_executable(env, "BANGER_DNSMASQ_BIN", "dnsmasq", kHowToInstall);
  }
  if (auto found = search_path("dnsmasq")) return *found;
  // root's PATH may lack sbin (su without -, some service managers).
  if (is_executable_file("/usr/sbin/dnsmasq")) return "/usr/sbin/dnsmasq";
  throw HostError(std::string("dnsmasq not found: ") + kHowToInstall, ErrorCode::NotFound);
}

DnsServerObserved DnsmasqDriver::observe() const {
  DnsServerObserved o;
  if (auto p = read_identity(dir_)) {
    o.recorded = true;
    o.process = *p;
    o.running = is_running(*p);
  }
  o.conf = read_small_file(conf_path()).value_or("");
  o.hosts = read_small_file(dir_ + "/hosts", 64 << 20).value_or("");
  o.dhcp_hosts = read_small_file(dir_ + "/dhcp-hosts", 64 << 20).value_or("");
  return o;
}

void DnsmasqDriver::stop_running() {
  bool killed = false;
  if (auto p = read_identity(dir_); p && is_running(*p)) {
    kill_process(*p);
    killed = true;
  }
  // A server started by a banger killed before it wrote dnsmasq.id.
  for (const ProcessUnder& p : processes_under(dir_)) {
    kill_process(p.process);
    killed = true;
  }
  // Its reaper writes exit-status into dir_ just after: a remove of dir_
  // racing it fails with "Directory not empty".
  if (killed) wait_for_exit_status(dir_ + "/exit-status", std::chrono::seconds(2));
  if (::unlink(id_path(dir_).c_str()) != 0 && errno != ENOENT) {
    throw HostError::from_errno("remove " + id_path(dir_), errno);
  }
}

ProcessIdentity DnsmasqDriver::start(const DnsServerSpec& spec, const std::string& binary) {
  std::error_code ec;
  const auto log_size = fs::file_size(log_path(), ec);
  SpawnOptions o;
  // -C with the path as its own argument: processes_under(dir) finds it.
  o.argv = {binary, "--keep-in-foreground", "-C", conf_path()};
  o.log_path = log_path();
  o.exit_status_path = dir_ + "/exit-status";
  ProcessIdentity p = spawn_detached(o);
  write_file_atomically(id_path(dir_), std::to_string(p.pid) + " " + std::to_string(p.start_time) + " " + p.exe + "\n");
  const auto deadline = std::chrono::steady_clock::now() + kServeTimeout;
  const Ipv4 gw = spec.subnet.gateway();
  // With lo down the host cannot ask its own address anything; the bound
  // socket is then the sign (what it receives waits there until it serves).
  const bool can_ask = loopback_up();
  while (true) {
    if (!is_running(p)) {
      throw HostError("dnsmasq for Network/" + spec.network + " exited at start" + log_tail(log_path(), ec ? 0 : log_size));
    }
    // Any answer will do: NXDOMAIN from its own domain says it serves.
    if (can_ask ? dns_lookup(gw, "banger-probe." + spec.domain, std::chrono::milliseconds(100)).has_value()
                : udp_bound(gw, 53)) {
      return p;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill_process(p);
      throw HostError("dnsmasq for Network/" + spec.network + (can_ask ? " did not answer DNS on " : " did not bind DNS on ") + gw.str() + " within 5 s" +
                      log_tail(log_path(), ec ? 0 : log_size));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

OpResult DnsmasqDriver::ensure(const DnsServerSpec& spec, const std::vector<DnsHost>& hosts,
                               const std::string& binary) {
  const DnsServerObserved now = observe();
  const std::string conf = dnsmasq_conf(spec);
  const std::string host_lines = dnsmasq_hosts(hosts);
  const std::string dhcp_lines = dnsmasq_dhcp_hosts(spec.network, hosts);
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw HostError("create " + dir_ + ": " + ec.message());
  }
  ::chmod(dir_.c_str(), 0755);  // dnsmasq, no longer root, reads the hosts files in it
  if (now.hosts != host_lines) write_file_atomically(dir_ + "/hosts", host_lines);
  if (now.dhcp_hosts != dhcp_lines) write_file_atomically(dir_ + "/dhcp-hosts", dhcp_lines);
  if (now.conf != conf) write_file_atomically(conf_path(), conf);

  if (now.running && now.conf == conf) {
    if (now.hosts == host_lines && now.dhcp_hosts == dhcp_lines) return OpResult::Unchanged;
    signal_process(now.process, SIGHUP);
    // With lo down nothing can be asked (see start): the reload is not awaited.
    if (!loopback_up()) return OpResult::Updated;
    // Done when the server answers from the new files: a name that came is
    // found, or a name that went is not.
    std::set<std::string> before, after;
    std::istringstream b(now.hosts), a(host_lines);
    for (std::string l; std::getline(b, l);) before.insert(l);
    for (std::string l; std::getline(a, l);) after.insert(l);
    std::string probe;  // "web.fleet.vm"
    std::optional<Ipv4> want;  // its address, or nullopt: it must be gone
    for (const DnsHost& h : hosts) {
      if (!before.count(host_line(h))) {
        probe = h.name + "." + h.network + "." + h.domain;
        want = h.ip;
        break;
      }
    }
    for (const std::string& line : before) {
      if (!probe.empty()) break;
      if (!after.count(line) && line.rfind(' ') != std::string::npos) probe = line.substr(line.rfind(' ') + 1);
    }
    const auto deadline = std::chrono::steady_clock::now() + kServeTimeout;
    const Ipv4 gw = spec.subnet.gateway();
    auto served = [&] {
      auto a = dns_lookup(gw, probe, std::chrono::milliseconds(100));
      if (!a) return false;
      if (!want) return a->addresses.empty();
      return std::find(a->addresses.begin(), a->addresses.end(), *want) != a->addresses.end();
    };
    while (!probe.empty() && std::chrono::steady_clock::now() < deadline && !served()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return OpResult::Updated;
  }
  const bool was = now.recorded;
  stop_running();
  start(spec, binary);
  return was ? OpResult::Updated : OpResult::Created;
}

bool DnsmasqDriver::remove() {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return false;
  stop_running();
  fs::remove_all(dir_, ec);
  if (ec) throw HostError("remove " + dir_ + ": " + ec.message());
  return true;
}

}  // namespace banger
