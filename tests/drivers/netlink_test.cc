// Netlink::dump() and the sysctl helpers against the real kernel, inside the
// private network namespace of the driver test binary. `ip` (iproute2) sets
// up links and cross-checks what the dump says.
#include "drivers/netlink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/host_error.h"
#include "drivers/sysctl.h"
#include "netns.h"
#include "ip_cli.h"
#include "run_command.h"

namespace banger {
namespace {

using test::ip;
using test::ip_bin;
using test::ip_try;
using test::LinkGuard;


int ip_ifindex(const std::string& name) {
  std::string out = ip({"-o", "link", "show", "dev", name});
  return std::stoi(out.substr(0, out.find(':')));
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Netlink, DumpShowsKindsMastersFlagsAndIpv4Only) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"nlt-v0", "nlt-br"}};  // deleting v0 also deletes its peer
  ip({"link", "add", "nlt-v0", "type", "veth", "peer", "name", "nlt-v1"});
  ip({"link", "add", "nlt-br", "type", "bridge"});
  ip({"link", "set", "nlt-v1", "master", "nlt-br"});
  ip({"addr", "add", "10.77.0.1/24", "dev", "nlt-v0"});
  ip({"addr", "add", "10.78.0.1/16", "dev", "nlt-v0"});
  ip({"addr", "add", "10.79.0.9/32", "dev", "nlt-v0"});  // nl_addr2str would drop "/32"
  ip({"-6", "addr", "add", "fd00:77::1/64", "dev", "nlt-v0", "nodad"});
  ip({"link", "set", "nlt-v0", "up"});

  Netlink nl;
  LinkSnapshot snap = nl.dump();

  const LinkState* v0 = snap.find("nlt-v0");
  const LinkState* v1 = snap.find("nlt-v1");
  const LinkState* br = snap.find("nlt-br");
  const LinkState* lo = snap.find("lo");
  ASSERT_NE(v0, nullptr);
  ASSERT_NE(v1, nullptr);
  ASSERT_NE(br, nullptr);
  ASSERT_NE(lo, nullptr);

  EXPECT_EQ(v0->type, "veth");
  EXPECT_EQ(br->type, "bridge");
  EXPECT_EQ(lo->type, "");
  EXPECT_EQ(v0->ifindex, ip_ifindex("nlt-v0"));
  EXPECT_EQ(br->ifindex, ip_ifindex("nlt-br"));
  EXPECT_EQ(v1->master, br->ifindex);
  EXPECT_EQ(v0->master, 0);
  EXPECT_TRUE(v0->up);
  EXPECT_FALSE(v1->up);
  EXPECT_FALSE(br->up);
  EXPECT_TRUE(lo->up);  // netns_main brought it up
  EXPECT_EQ(sorted(v0->ipv4),
            (std::vector<std::string>{"10.77.0.1/24", "10.78.0.1/16", "10.79.0.9/32"}));
  EXPECT_TRUE(v1->ipv4.empty());
  EXPECT_EQ(lo->ipv4, (std::vector<std::string>{"127.0.0.1/8"}));

  EXPECT_EQ(snap.find(br->ifindex), br);
  EXPECT_EQ(snap.find("nlt-nope"), nullptr);
  EXPECT_EQ(snap.find(0), nullptr);
  EXPECT_EQ(snap.find(999999), nullptr);
}

TEST(Netlink, DumpFollowsChanges) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"nlt-c0"}};
  Netlink nl;
  EXPECT_EQ(nl.dump().find("nlt-c0"), nullptr);
  ip({"link", "add", "nlt-c0", "type", "veth", "peer", "name", "nlt-c1"});
  ip({"addr", "add", "10.80.0.1/24", "dev", "nlt-c0"});
  LinkSnapshot a = nl.dump();
  ASSERT_NE(a.find("nlt-c0"), nullptr);
  EXPECT_EQ(a.find("nlt-c0")->ipv4, (std::vector<std::string>{"10.80.0.1/24"}));
  ip({"addr", "del", "10.80.0.1/24", "dev", "nlt-c0"});
  ip({"link", "set", "nlt-c0", "up"});
  LinkSnapshot b = nl.dump();
  ASSERT_NE(b.find("nlt-c0"), nullptr);
  EXPECT_TRUE(b.find("nlt-c0")->ipv4.empty());
  EXPECT_TRUE(b.find("nlt-c0")->up);
  ip({"link", "del", "nlt-c0"});
  EXPECT_EQ(nl.dump().find("nlt-c0"), nullptr);
  EXPECT_EQ(nl.dump().find("nlt-c1"), nullptr);
}

TEST(Sysctl, IpForwardingIsPerNamespaceAndToggles) {
  REQUIRE_PRIVATE_NETNS();
  const std::string path = "/proc/sys/net/ipv4/ip_forward";
  bool before = ipv4_forwarding_enabled();
  EXPECT_EQ(before, read_text(path) != "0\n");
  set_ipv4_forwarding(true);
  EXPECT_TRUE(ipv4_forwarding_enabled());
  EXPECT_EQ(read_text(path), "1\n");
  set_ipv4_forwarding(false);
  EXPECT_FALSE(ipv4_forwarding_enabled());
  EXPECT_EQ(read_text(path), "0\n");
  set_ipv4_forwarding(before);
}

TEST(Sysctl, RouteLocalnetPerInterface) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"nlt-r0"}};
  ip({"link", "add", "nlt-r0", "type", "veth", "peer", "name", "nlt-r1"});
  const std::string path = "/proc/sys/net/ipv4/conf/nlt-r0/route_localnet";
  EXPECT_FALSE(route_localnet_enabled("nlt-r0"));
  set_route_localnet("nlt-r0", true);
  EXPECT_TRUE(route_localnet_enabled("nlt-r0"));
  EXPECT_EQ(read_text(path), "1\n");
  EXPECT_EQ(read_text("/proc/sys/net/ipv4/conf/nlt-r1/route_localnet"), "0\n");
  set_route_localnet("nlt-r0", false);
  EXPECT_EQ(read_text(path), "0\n");
}

TEST(Sysctl, MissingInterfaceOrBadNameIsAHostErrorNamingThePath) {
  REQUIRE_PRIVATE_NETNS();
  try {
    set_route_localnet("nlt-absent", true);
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/sys/net/ipv4/conf/nlt-absent/route_localnet"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("no such interface"), std::string::npos) << e.what();
  }
  EXPECT_THROW(route_localnet_enabled("nlt-absent"), HostError);
  // The name becomes a path component: no way out of conf/.
  EXPECT_THROW(set_route_localnet("..", true), HostError);
  EXPECT_THROW(set_route_localnet("a/b", true), HostError);
  EXPECT_THROW(route_localnet_enabled(""), HostError);
}

}  // namespace
}  // namespace banger
