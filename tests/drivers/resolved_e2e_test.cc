// systemd-resolved for real: Debian's binary (unpacked, never installed;
// tests/resolved/fetch-systemd-resolved.sh) run against a private D-Bus
// daemon, in this process's network namespace and a mount namespace of its
// own (a tmpfs /run, a passwd with its user), so nothing of the host's is
// touched. banger reaches it through $DBUS_SYSTEM_BUS_ADDRESS, as it would
// reach the host's through the system bus.
#include <gtest/gtest.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "drivers/dns_query.h"
#include "drivers/resolved.h"
#include "host_e2e.h"
#include "netns.h"

namespace fs = std::filesystem;
using banger::test::sh;
using namespace std::chrono_literals;

namespace {

const std::string kResolvedDir = RESOLVED_DIR;
const banger::Ipv4 kGateway = *banger::parse_ipv4("10.81.0.1");
const banger::Ipv4 kStub = *banger::parse_ipv4("127.0.0.53");

class Resolved : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    const std::string bin = kResolvedDir + "/root/lib/systemd/systemd-resolved";
    if (!fs::exists(bin)) {
      if (std::getenv("BANGER_REQUIRE_RESOLVED")) FAIL() << "systemd-resolved is not unpacked in " << kResolvedDir;
      GTEST_SKIP() << "systemd-resolved not unpacked in " << kResolvedDir << " (tests/resolved/fetch-systemd-resolved.sh)";
    }
    for (const char* tool : {"dbus-daemon", "unshare", "dnsmasq"}) {
      if (sh(std::string("command -v ") + tool + " || test -x /usr/sbin/" + tool).exit_code != 0) {
        GTEST_SKIP() << tool << " is not installed";
      }
    }
    banger::test::bring_up_loopback();
    const std::string d = root();
    std::ofstream(d + "/bus.conf")
        << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
           "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig><type>system</type>"
           "<listen>unix:path=" << d << "/bus</listen><auth>EXTERNAL</auth><policy context=\"default\">"
           "<allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/><allow receive_sender=\"*\"/>"
           "</policy></busconfig>\n";
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + d + "/bus").c_str(), 1);
    // Its own /run (stub files, runtime state) and a passwd with its user,
    // which the bus daemon reads too: both run in that mount namespace.
    sh("cp /etc/passwd " + d + "/passwd && cp /etc/group " + d + "/group && "
       "(grep -q '^systemd-resolve:' /etc/passwd || echo 'systemd-resolve:x:991:991::/:/usr/sbin/nologin' >> " + d +
       "/passwd) && (grep -q '^systemd-resolve:' /etc/group || echo 'systemd-resolve:x:991:' >> " + d + "/group)");
    auto r = sh("unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && mkdir /run/systemd && "
                "mount --bind " + d + "/passwd /etc/passwd && mount --bind " + d + "/group /etc/group && "
                "dbus-daemon --config-file=" + d + "/bus.conf --fork --print-pid=1 > " + d + "/bus.pid && exec " +
                bin + "' > " + d + "/resolved.log 2>&1 & echo $!");
    resolved_pid_ = std::stoi(r.out);
    for (int i = 0; i < 300 && !banger::ResolvedDriver::running(); ++i) std::this_thread::sleep_for(20ms);
    std::ifstream(d + "/bus.pid") >> bus_pid_;
    ASSERT_TRUE(banger::ResolvedDriver::running()) << sh("cat " + d + "/resolved.log").out;
    sparse_file("rootfs.ext4", 1 << 20);
  }
  void TearDown() override {
    HostE2E::TearDown();
    for (pid_t* pid : {&resolved_pid_, &bus_pid_}) {
      if (*pid <= 0) continue;
      ::kill(*pid, SIGKILL);
      sh("while kill -0 " + std::to_string(*pid) + " 2>/dev/null; do sleep 0.01; done");
      *pid = -1;
    }
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
  void write(const std::string& dns = "") {
    dir_->write("m/all.yaml",
                "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: names}\nspec: {subnet: 10.81.0.0/24, "
                "bridge: bg-names" + dns + "}\n---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                "spec: {path: " + root() + "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: "
                "{name: img}\nspec: {path: " + root() + "/rootfs.ext4}\n---\napiVersion: banger.dev/v1\nkind: VM\n"
                "metadata: {name: web}\nspec: {kernel: k, image: img, network: names, ip: 10.81.0.10, "
                "runtime: firecracker, diskStrategy: copy}\n");
  }
  int bridge_index() { return static_cast<int>(::if_nametoindex("bg-names")); }
  // NAME asked of resolved's stub listener, as the host's programs ask it.
  // For up to 5 s while the answer is not an address: resolved probes a new
  // server's features (EDNS0 and the like) first, and on a loaded machine
  // its first answer may be SERVFAIL while it does.
  std::string through_resolved(const std::string& name) {
    std::string got;
    for (auto end = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < end;) {
      auto a = banger::dns_lookup(kStub, name, 2s);
      got = !a ? "no answer" : a->addresses.empty() ? "rcode " + std::to_string(a->rcode) : a->addresses[0].str();
      if (a && !a->addresses.empty()) break;
      std::this_thread::sleep_for(100ms);
    }
    return got;
  }

  pid_t bus_pid_ = -1, resolved_pid_ = -1;
};

TEST_F(Resolved, TheDriverSetsReadsAndRevertsALinksDnsAndRoutingDomain) {
  ASSERT_EQ(sh("ip link add bg-names type bridge && ip addr add 10.81.0.1/24 dev bg-names && ip link set bg-names up")
                .exit_code,
            0);
  banger::ResolvedDriver r;
  const int ifindex = bridge_index();
  for (int i = 0; i < 100 && !r.link(ifindex); ++i) std::this_thread::sleep_for(20ms);  // resolved saw the link
  ASSERT_TRUE(r.link(ifindex));
  EXPECT_EQ(r.link(ifindex)->dns.size(), 0u);
  EXPECT_EQ(r.route(ifindex, kGateway, "vm"), banger::OpResult::Created);
  auto l = r.link(ifindex);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->dns, std::vector<banger::Ipv4>{kGateway});
  EXPECT_EQ(l->route_domains, std::vector<std::string>{"vm"});
  EXPECT_TRUE(banger::ResolvedDriver::routes(*l, kGateway, "vm"));
  EXPECT_EQ(r.route(ifindex, kGateway, "vm"), banger::OpResult::Unchanged);
  EXPECT_EQ(r.route(ifindex, kGateway, "lab"), banger::OpResult::Updated);
  r.revert(ifindex);
  l = r.link(ifindex);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->dns.empty() && l->route_domains.empty());
  EXPECT_FALSE(r.link(987654)) << "an unknown link is nullopt";
  r.revert(987654);  // absent is success
}

TEST_F(Resolved, ApplyMakesTheHostResolveVmNamesRepairsItAndDeleteUndoesIt) {
  write();
  auto a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("Network/names: systemd-resolved sends .vm names to bg-names"), std::string::npos) << a.out;
  EXPECT_EQ(through_resolved("web.vm"), "10.81.0.10") << sh("cat " + root() + "/resolved.log | tail -20").out;
  EXPECT_EQ(through_resolved("web.names.vm"), "10.81.0.10");
  auto doctor = banger({"doctor"});
  EXPECT_NE(doctor.out.find("systemd-resolved sends *.vm to 10.81.0.1 on bg-names (Network/names)"), std::string::npos)
      << doctor.out;
  EXPECT_EQ(banger({"diff", "-f", manifest_dir()}).exit_code, 0);

  // resolved restarted, or the link reverted by hand: a repair, and apply sets it again.
  banger::ResolvedDriver().revert(bridge_index());
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("systemd-resolved does not send .vm to 10.81.0.1 on bg-names"), std::string::npos) << d.out;
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(through_resolved("web.vm"), "10.81.0.10");

  // DNS off: the link no longer routes .vm (the network stays).
  write(", dns: {enabled: false}");
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto l = banger::ResolvedDriver().link(bridge_index());
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->dns.empty() && l->route_domains.empty());

  // On again, then the network goes: resolved forgets the link with the bridge.
  write();
  ASSERT_EQ(banger({"apply", "-f", manifest_dir()}).exit_code, 0);
  const int ifindex = bridge_index();
  ASSERT_EQ(banger({"delete", "-f", manifest_dir()}).exit_code, 0);
  for (int i = 0; i < 100 && banger::ResolvedDriver().link(ifindex); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(banger::ResolvedDriver().link(ifindex));
  EXPECT_NE(through_resolved("web.vm"), "10.81.0.10");
}

}  // namespace
