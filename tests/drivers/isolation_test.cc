// Network.spec.isolation against the real kernel, in the test binary's
// private network namespace: two "guests" (namespaces of their own on veths
// into one bridge) reach each other until their ports are isolated through
// Netlink::set_port_isolated, and the gateway either way; then end to end,
// apply sets the flag on every VM's tap, diff sees a tap that lost it, and
// turning isolation off clears it.
#include <gtest/gtest.h>

#include <sstream>

#include "drivers/netlink.h"
#include "host_e2e.h"

namespace {

using banger::test::sh;

class Guests : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_NETNS();
    ASSERT_EQ(sh("ip link add isob type bridge && ip addr add 10.81.0.1/24 dev isob && ip link set isob up").exit_code, 0);
    for (int i = 0; i < 2; ++i) {
      auto r = sh("unshare -n sleep 60 >/dev/null 2>&1 & echo $!");
      pid_[i] = r.out.substr(0, r.out.find('\n'));
      const std::string host = "isoh" + std::to_string(i), guest = "isog" + std::to_string(i);
      const std::string addr = "10.81.0." + std::to_string(10 + i);
      ASSERT_EQ(sh("ip link add " + host + " type veth peer name " + guest + " && ip link set " + host +
                   " master isob up && ip link set " + guest + " netns " + pid_[i] + " && " + in(i) + "ip addr add " +
                   addr + "/24 dev " + guest + " && " + in(i) + "ip link set " + guest + " up && " + in(i) +
                   "ip link set lo up")
                    .exit_code,
                0);
    }
  }
  void TearDown() override {
    sh("ip link del isoh0; ip link del isoh1; ip link del isob; kill " + pid_[0] + " " + pid_[1]);
  }
  std::string in(int i) const { return "nsenter -t " + pid_[i] + " -n "; }
  bool ping(int from, const std::string& to) { return sh(in(from) + "busybox ping -c 1 -W 1 " + to).exit_code == 0; }
  int ifindex(const std::string& name) {
    banger::Netlink nl;
    return nl.dump().find(name)->ifindex;
  }
  std::string pid_[2];
};

TEST_F(Guests, IsolatedPortsReachTheGatewayButNotEachOther) {
  EXPECT_TRUE(ping(0, "10.81.0.11"));
  banger::Netlink nl;
  for (const char* port : {"isoh0", "isoh1"}) nl.set_port_isolated(ifindex(port), true, port);
  banger::LinkSnapshot seen = nl.dump();
  EXPECT_TRUE(seen.find("isoh0")->isolated);
  EXPECT_TRUE(seen.find("isoh1")->isolated);
  EXPECT_FALSE(seen.find("isob")->isolated);
  EXPECT_NE(sh("ip -d link show isoh0").out.find("isolated on"), std::string::npos);
  EXPECT_FALSE(ping(0, "10.81.0.11"));
  EXPECT_TRUE(ping(0, "10.81.0.1"));
  EXPECT_TRUE(ping(1, "10.81.0.1"));
  nl.set_port_isolated(ifindex("isoh1"), false, "isoh1");
  EXPECT_FALSE(nl.dump().find("isoh1")->isolated);
  EXPECT_TRUE(ping(0, "10.81.0.11"));  // an isolated port still reaches an open one
}

class Isolation : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 1 << 20);
  }
  void write(bool isolated) {
    std::ostringstream m;
    m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: iso}\nspec: {subnet: 10.82.0.0/24, isolation: "
      << (isolated ? "true" : "false") << "}\n---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
      << "spec: {path: " << root() << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\n"
      << "spec: {path: " << root() << "/rootfs.ext4}\n";
    for (const char* vm : {"a", "b"}) {
      m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << vm << "}\n"
        << "spec: {kernel: k, image: img, network: iso, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n";
    }
    dir_->write("m/fleet.yaml", m.str());
  }
  std::string tap(const std::string& vm) { return banger::test::vm_status_in(root(), vm)["TAP"]; }
  bool isolated(const std::string& link) {
    return sh("ip -d link show " + link).out.find("isolated on") != std::string::npos;
  }
};

TEST_F(Isolation, ApplySetsItOnEveryTapAndDiffSeesItGo) {
  write(true);
  auto a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(isolated(tap("a")));
  EXPECT_TRUE(isolated(tap("b")));
  EXPECT_EQ(banger({"diff", "-f", manifest_dir()}).exit_code, 0);
  ASSERT_EQ(sh("ip link set dev " + tap("a") + " type bridge_slave isolated off").exit_code, 0);
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("tap " + tap("a") + " is not isolated (Network/iso has isolation: true)"), std::string::npos)
      << d.out;
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(isolated(tap("a")));
  write(false);
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_FALSE(isolated(tap("a")));
  EXPECT_FALSE(isolated(tap("b")));
  EXPECT_EQ(banger({"diff", "-f", manifest_dir()}).exit_code, 0);
}

}  // namespace
