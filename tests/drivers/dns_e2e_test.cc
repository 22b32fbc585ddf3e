// End to end, in this process's private network namespace: a network's
// dnsmasq, started by apply, bound to the bridge address alone, answering
// NAME.vm for VMs as they come and go without a restart, repaired when
// killed or edited, handing a VM's MAC its address by DHCP (and nothing to
// an unknown MAC), and gone with its network.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/dns_query.h"
#include "drivers/process.h"
#include "host_e2e.h"
#include "netns.h"

namespace fs = std::filesystem;
using banger::test::sh;

namespace {

using namespace std::chrono_literals;

const banger::Ipv4 kGateway = *banger::parse_ipv4("10.79.0.1");

std::string manifests(const std::string& dir, const std::vector<std::string>& vms, const std::string& dns = "") {
  std::ostringstream m;
  m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: names}\nspec: {subnet: 10.79.0.0/24" << dns
    << "}\n---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir
    << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " << dir
    << "/rootfs.ext4}\n";
  for (const std::string& vm : vms) {
    m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << vm << "}\n"
      << "spec: {kernel: k, image: img, network: names, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n";
  }
  return m.str();
}

class Dns : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    if (sh("command -v dnsmasq || test -x /usr/sbin/dnsmasq").exit_code != 0) GTEST_SKIP() << "dnsmasq is not installed";
    sparse_file("rootfs.ext4", 1 << 20);
  }
  void write(const std::vector<std::string>& vms, const std::string& dns = "") {
    dir_->write("m/fleet.yaml", manifests(root(), vms, dns));
  }
  void apply(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"apply", "-f", manifest_dir(), "--prune"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto a = banger(args);
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  }
  std::string server_dir() const { return root() + "/run/networks/names"; }
  // The pid of the server banger recorded.
  int server_pid() {
    std::ifstream f(server_dir() + "/dnsmasq.id");
    int pid = 0;
    f >> pid;
    return pid;
  }
  std::optional<std::string> resolve(const std::string& name) {
    auto a = banger::dns_lookup(kGateway, name, 2s);
    if (!a) return std::nullopt;
    return a->addresses.empty() ? std::string("NXDOMAIN") : a->addresses[0].str();
  }
  std::string vm_ip(const std::string& vm) { return banger::test::vm_status_in(root(), vm)["IP"]; }
};

TEST_F(Dns, ServesVmNamesOnTheBridgeAloneAndFollowsTheVms) {
  write({"web", "db"});
  const auto t0 = std::chrono::steady_clock::now();
  apply();
  const auto apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  const int pid = server_pid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(banger::test::process_alive(pid));
  std::cout << "apply of a network and 2 VMs, DNS serving when it returns: " << apply_ms.count() << " ms\n";

  // Bound only to the gateway: no 0.0.0.0:53, no other address, DHCP only on the bridge.
  std::string sockets = sh("ss -Hlnup; ss -Hlntp").out;
  std::istringstream lines(sockets);
  int on_53 = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("pid=" + std::to_string(pid) + ",") == std::string::npos) continue;
    if (line.find(":53 ") != std::string::npos) {
      ++on_53;
      EXPECT_NE(line.find(" 10.79.0.1:53 "), std::string::npos) << line;
    }
    if (line.find(":67 ") != std::string::npos) {
      EXPECT_NE(line.find("%bg-names:67"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(on_53, 2) << sockets;  // UDP and TCP
  std::string status = sh("grep -E '^(Uid|CapEff)' /proc/" + std::to_string(pid) + "/status").out;
  EXPECT_EQ(status.find("Uid:\t0\t"), std::string::npos) << "dnsmasq kept root\n" << status;

  EXPECT_EQ(resolve("web.vm"), vm_ip("web"));
  EXPECT_EQ(resolve("db.names.vm"), vm_ip("db"));
  EXPECT_EQ(resolve("nobody-here.vm"), "NXDOMAIN");

  auto g = banger({"get", "networks"});
  EXPECT_NE(g.out.find("10.79.0.1 (.vm)"), std::string::npos) << g.out;

  // A new VM is answered as soon as apply returns, by the same server.
  write({"web", "db", "cache"});
  apply();
  EXPECT_EQ(resolve("cache.vm"), vm_ip("cache"));
  EXPECT_EQ(server_pid(), pid);
  // A deleted one is gone, still from the same server.
  write({"web", "cache"});
  apply();
  EXPECT_EQ(resolve("db.vm"), "NXDOMAIN");
  EXPECT_EQ(resolve("web.vm"), vm_ip("web"));
  EXPECT_EQ(server_pid(), pid);
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
}

TEST_F(Dns, AKilledOrEditedServerIsRepaired) {
  write({"web"});
  apply();
  const int pid = server_pid();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && banger::test::process_alive(pid); ++i) usleep(20000);
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("! Network/names (repair)\n      dns server is not running"), std::string::npos) << d.out;
  apply();
  EXPECT_NE(server_pid(), pid);
  EXPECT_TRUE(banger::test::process_alive(server_pid()));
  EXPECT_EQ(resolve("web.vm"), vm_ip("web"));

  // An edited config is drift too: put back, and the server restarted on it.
  const int pid2 = server_pid();
  { std::ofstream(server_dir() + "/dnsmasq.conf", std::ios::app) << "address=/evil.vm/6.6.6.6\n"; }
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("dns server config changed"), std::string::npos) << d.out;
  apply();
  EXPECT_NE(server_pid(), pid2);
  std::ifstream conf(server_dir() + "/dnsmasq.conf");
  std::string text((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("evil"), std::string::npos);

  // Upstreams and a domain of its own: a config change, the server restarted.
  write({"web"}, ", dns: {domain: lab.example, upstreams: [10.79.0.254]}");
  apply();
  EXPECT_EQ(resolve("web.lab.example"), vm_ip("web"));
  EXPECT_EQ(resolve("web.names.lab.example"), vm_ip("web"));
}

TEST_F(Dns, DhcpGivesAVmsMacItsAddressAndAnUnknownMacNothing) {
  if (sh("busybox udhcpc --help >/dev/null 2>&1").exit_code != 0) GTEST_SKIP() << "busybox udhcpc is missing";
  write({"web"});
  apply();
  std::string mac;
  {
    auto e = banger({"state", "export"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto j = nlohmann::json::parse(e.out);
    for (const auto& v : j["records"]["vms"]) {
      if (v["name"] == "web") mac = v["mac"];
    }
  }
  ASSERT_FALSE(mac.empty());
  // A client in a namespace of its own, on a veth into the bridge, as a guest
  // on a tap would be.
  auto ns = sh("unshare -n sleep 60 >/dev/null 2>&1 & echo $!");
  const std::string nspid = ns.out.substr(0, ns.out.find('\n'));
  ASSERT_EQ(sh("ip link add dh0 type veth peer name dh1 && ip link set dh0 master bg-names && ip link set dh0 up && "
               "ip link set dh1 netns " + nspid)
                .exit_code,
            0);
  auto client = [&](const std::string& with_mac) {
    return sh("nsenter -t " + nspid + " -n sh -c 'ip link set dh1 address " + with_mac +
              " && ip link set dh1 up && busybox udhcpc -i dh1 -n -q -f -t 3 -T 1 -s /bin/true' 2>&1");
  };
  auto got = client(mac);
  EXPECT_EQ(got.exit_code, 0) << got.out;
  EXPECT_NE(got.out.find("lease of " + vm_ip("web") + " obtained"), std::string::npos) << got.out;
  auto none = client("06:00:de:ad:be:ef");
  EXPECT_NE(none.exit_code, 0) << none.out;
  EXPECT_EQ(none.out.find("obtained"), std::string::npos) << none.out;
  sh("kill " + nspid + "; ip link del dh0");
}

TEST_F(Dns, DeletingTheNetworkLeavesNoServerFileOrRecord) {
  write({"web"});
  apply();
  const int pid = server_pid();
  auto del = banger({"delete", "-f", manifest_dir()});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  for (int i = 0; i < 100 && banger::test::process_alive(pid); ++i) usleep(20000);
  EXPECT_FALSE(banger::test::process_alive(pid));
  EXPECT_FALSE(fs::exists(server_dir()));
  auto e = banger({"state", "export"});
  EXPECT_EQ(e.out.find("dns-server"), std::string::npos) << e.out;
  EXPECT_TRUE(banger::processes_under(root() + "/run/networks").empty());
}

TEST_F(Dns, TurnedOffMeansNoServer) {
  write({"web"}, ", dns: {enabled: false}");
  apply();
  EXPECT_FALSE(fs::exists(server_dir()));
  write({"web"});
  apply();
  EXPECT_GT(server_pid(), 0);
  write({"web"}, ", dns: {enabled: false}");
  apply();
  EXPECT_FALSE(fs::exists(server_dir()));
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 0) << d.out;
}

// A forward chain of another table with policy drop (as Docker and ufw
// leave it) drops VM traffic whatever banger's own table says: nftables
// ends a packet at the first drop of any base chain. doctor names the chain
// and prints the two rules that let the network's bridge through.
TEST_F(Dns, DoctorNamesAForwardChainThatDropsAndTheFix) {
  write({"web"});
  apply();
  auto ok = banger({"doctor"});
  EXPECT_NE(ok.out.find("ok    firewall: no forward chain of another table drops by default"), std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("ok    dns: Network/names: dnsmasq runs (as nobody)"), std::string::npos) << ok.out;
  ASSERT_EQ(sh("nft add table inet filter && "
               "nft add chain inet filter forward '{ type filter hook forward priority 0; policy drop; }'")
                .exit_code,
            0);
  auto r = banger({"doctor"});
  sh("nft delete table inet filter");
  EXPECT_NE(r.out.find("warn  firewall: chain inet filter forward drops forwarded traffic by default"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("nft insert rule inet filter forward iifname bg-names accept"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nft insert rule inet filter forward oifname bg-names ct state established,related accept"),
            std::string::npos)
      << r.out;
}

// `banger delete vm db` names no network: the server stays and forgets db.
TEST_F(Dns, DeletingAVmByNameUpdatesTheNamesAndKeepsTheServer) {
  write({"web", "db"});
  apply();
  const int pid = server_pid();
  ASSERT_EQ(resolve("db.vm"), vm_ip("db"));
  auto del = banger({"delete", "vm", "db"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(resolve("db.vm"), "NXDOMAIN");
  EXPECT_EQ(resolve("web.vm"), vm_ip("web"));
  EXPECT_EQ(server_pid(), pid);
}

// A fresh namespace's lo is down, and the host's queries to its own bridge
// address travel through lo: banger must not wait for answers that cannot
// come (it did, 5 s, then failed the apply). The bound socket is the sign
// then; the names are served once lo is up.
TEST_F(Dns, WithLoopbackDownTheServerStartsAndFollowsTheVms) {
  banger::test::set_loopback(false);
  struct Restore {
    ~Restore() { banger::test::set_loopback(true); }
  } restore;
  ASSERT_FALSE(banger::loopback_up());
  write({"web", "db"});
  auto t0 = std::chrono::steady_clock::now();
  apply();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s) << "waited for answers through a loopback that is down";
  ASSERT_TRUE(banger::test::process_alive(server_pid()));
  EXPECT_TRUE(banger::udp_bound(kGateway, 53));
  const int pid = server_pid();
  write({"web"});
  t0 = std::chrono::steady_clock::now();
  apply();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_EQ(server_pid(), pid);

  banger::test::set_loopback(true);
  ASSERT_TRUE(banger::loopback_up());
  EXPECT_EQ(resolve("web.vm"), vm_ip("web"));
  EXPECT_EQ(resolve("db.vm"), "NXDOMAIN");
}

}  // namespace
