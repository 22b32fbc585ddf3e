// BridgeDriver against the real kernel in the test binary's private network
// namespace. The kernel's state is read twice: by Netlink::dump() and by
// parsing `ip` output, so a bug in the dump cannot hide a bug in the driver.
#include "drivers/bridge.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
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


/// What `ip` says about one link.
struct IpView {
  bool exists = false;
  std::set<std::string> flags;  // UP, LOWER_UP, ...
  std::string master, mac, kind_line;
  std::set<std::string> inet;  // "10.42.0.1/24"
};

IpView ip_view(const std::string& name) {
  IpView v;
  test::CommandResult r = ip_try({"-o", "-d", "link", "show", "dev", name});
  if (r.exit_code != 0) return v;
  v.exists = true;
  v.kind_line = r.out;
  auto lt = r.out.find('<'), gt = r.out.find('>');
  std::stringstream fl(r.out.substr(lt + 1, gt - lt - 1));
  for (std::string f; std::getline(fl, f, ',');) v.flags.insert(f);
  std::stringstream ts(r.out);
  for (std::string t, prev; ts >> t; prev = t) {
    if (prev == "master") v.master = t;
    if (prev == "link/ether") v.mac = t;
  }
  std::stringstream as(ip({"-o", "-4", "addr", "show", "dev", name}));
  for (std::string t, prev; as >> t; prev = t) {
    if (prev == "inet") v.inet.insert(t);
  }
  return v;
}

bool is_bridge_kind(const IpView& v) {
  return v.kind_line.find(" bridge forward_delay ") != std::string::npos;
}

/// Listens to the kernel's link and IPv4 address notifications: the proof
/// that a call changed nothing is that the kernel announced nothing.
class RtnlMonitor {
 public:
  RtnlMonitor() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE)) {
    if (fd_ < 0) throw std::runtime_error("netlink socket failed");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      close(fd_);
      throw std::runtime_error("netlink bind failed");
    }
  }
  ~RtnlMonitor() { close(fd_); }
  RtnlMonitor(const RtnlMonitor&) = delete;
  RtnlMonitor& operator=(const RtnlMonitor&) = delete;

  /// Notifications about `ifindex` until none came for `quiet_ms` (at most 3 s).
  int drain(int ifindex, int quiet_ms) {
    int count = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    pollfd p{fd_, POLLIN, 0};
    while (std::chrono::steady_clock::now() < deadline && poll(&p, 1, quiet_ms) > 0) {
      alignas(nlmsghdr) char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        int idx = 0;
        if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
          idx = static_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
        } else if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
          idx = static_cast<int>(static_cast<ifaddrmsg*>(NLMSG_DATA(h))->ifa_index);
        }
        if (idx == ifindex) ++count;
      }
    }
    return count;
  }

 private:
  int fd_;
};

BridgeSpec spec(const std::string& name, const std::string& gw, bool localnet = false) {
  return BridgeSpec{name, *parse_cidr(gw), localnet};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const HostError& e) {
    return e.what();
  }
  return "";
}

TEST(BridgeDriver, CreatesBridgeWithGatewayAndUp) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t1"}};
  Netlink nl;
  BridgeDriver drv(nl);
  EXPECT_EQ(drv.ensure(spec("bg-t1", "10.42.0.1/24"), nl.dump()), OpResult::Created);

  LinkSnapshot s = nl.dump();
  const LinkState* b = s.find("bg-t1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, "bridge");
  EXPECT_TRUE(b->up);
  EXPECT_EQ(b->ipv4, (std::vector<std::string>{"10.42.0.1/24"}));

  IpView v = ip_view("bg-t1");
  ASSERT_TRUE(v.exists);
  EXPECT_TRUE(is_bridge_kind(v)) << v.kind_line;
  EXPECT_TRUE(v.flags.count("UP")) << v.kind_line;
  EXPECT_EQ(v.inet, (std::set<std::string>{"10.42.0.1/24"}));
  EXPECT_FALSE(route_localnet_enabled("bg-t1"));
}

TEST(BridgeDriver, MacIsFixedLocalDeterministicAndKeptWhenPortsJoin) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t2", "bgt2-p0"}};
  Netlink nl;
  BridgeDriver drv(nl);
  drv.ensure(spec("bg-t2", "10.43.0.1/24"), nl.dump());
  std::string mac = ip_view("bg-t2").mac;
  ASSERT_EQ(mac.size(), 17u) << mac;
  int first = std::stoi(mac.substr(0, 2), nullptr, 16);
  EXPECT_EQ(first & 0x02, 0x02) << mac << " is not locally administered";
  EXPECT_EQ(first & 0x01, 0x00) << mac << " is multicast";

  // Without a fixed MAC the bridge would take the lowest port MAC.
  ip({"link", "add", "bgt2-p0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name",
      "bgt2-p1"});
  ip({"link", "set", "bgt2-p0", "master", "bg-t2"});
  EXPECT_EQ(ip_view("bg-t2").mac, mac);

  drv.remove("bg-t2");
  drv.ensure(spec("bg-t2", "10.43.0.1/24"), nl.dump());
  EXPECT_EQ(ip_view("bg-t2").mac, mac);
  drv.ensure(spec("bg-t3", "10.44.0.1/24"), nl.dump());
  guard.names.push_back("bg-t3");
  EXPECT_NE(ip_view("bg-t3").mac, mac);
}

TEST(BridgeDriver, SecondEnsureIsUnchangedAndTheKernelSeesNoChange) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t4"}};
  Netlink nl;
  BridgeDriver drv(nl);
  ASSERT_EQ(drv.ensure(spec("bg-t4", "10.45.0.1/24"), nl.dump()), OpResult::Created);
  RtnlMonitor mon;
  LinkSnapshot seen = nl.dump();
  int ifindex = seen.find("bg-t4")->ifindex;
  mon.drain(ifindex, 300);  // let the creation's own notifications pass
  IpView before = ip_view("bg-t4");

  EXPECT_EQ(drv.ensure(spec("bg-t4", "10.45.0.1/24"), seen), OpResult::Unchanged);
  EXPECT_EQ(mon.drain(ifindex, 200), 0);
  // A snapshot that misses the bridge (stale) leads to a create attempt that
  // finds it: still nothing to change, and it says so.
  EXPECT_EQ(drv.ensure(spec("bg-t4", "10.45.0.1/24"), LinkSnapshot{}), OpResult::Unchanged);
  EXPECT_EQ(mon.drain(ifindex, 200), 0);

  IpView after = ip_view("bg-t4");
  EXPECT_EQ(after.inet, before.inet);
  EXPECT_EQ(after.flags, before.flags);
  EXPECT_EQ(after.mac, before.mac);
  EXPECT_EQ(nl.dump().find("bg-t4")->ifindex, ifindex);  // not re-created
}

TEST(BridgeDriver, RepairsAddressDriftAndDownState) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t5"}};
  Netlink nl;
  BridgeDriver drv(nl);
  drv.ensure(spec("bg-t5", "10.46.0.1/24"), nl.dump());
  ip({"addr", "del", "10.46.0.1/24", "dev", "bg-t5"});
  ip({"addr", "add", "10.46.0.9/24", "dev", "bg-t5"});  // primary of the gateway's subnet
  ip({"addr", "add", "10.46.0.1/16", "dev", "bg-t5"});  // right address, wrong prefix
  ip({"addr", "add", "10.99.0.5/16", "dev", "bg-t5"});
  ip({"link", "set", "bg-t5", "down"});
  ASSERT_EQ(ip_view("bg-t5").inet.size(), 3u);

  RtnlMonitor mon;
  LinkSnapshot seen = nl.dump();
  int ifindex = seen.find("bg-t5")->ifindex;
  mon.drain(ifindex, 100);
  EXPECT_EQ(drv.ensure(spec("bg-t5", "10.46.0.1/24"), seen), OpResult::Updated);
  EXPECT_GT(mon.drain(ifindex, 200), 0);  // the monitor does see real changes

  IpView v = ip_view("bg-t5");
  EXPECT_EQ(v.inet, (std::set<std::string>{"10.46.0.1/24"}));
  EXPECT_TRUE(v.flags.count("UP")) << v.kind_line;
  LinkSnapshot now = nl.dump();
  const LinkState* b = now.find("bg-t5");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ipv4, (std::vector<std::string>{"10.46.0.1/24"}));
  EXPECT_TRUE(b->up);
  EXPECT_EQ(b->ifindex, ifindex);
  EXPECT_EQ(drv.ensure(spec("bg-t5", "10.46.0.1/24"), nl.dump()), OpResult::Unchanged);

  // Only the address missing, seen through a stale snapshot that says all is well:
  // ensure trusts the snapshot (the next observe catches it) ...
  LinkSnapshot stale = nl.dump();
  ip({"addr", "del", "10.46.0.1/24", "dev", "bg-t5"});
  EXPECT_EQ(drv.ensure(spec("bg-t5", "10.46.0.1/24"), stale), OpResult::Unchanged);
  // ... and a fresh one repairs it.
  EXPECT_EQ(drv.ensure(spec("bg-t5", "10.46.0.1/24"), nl.dump()), OpResult::Updated);
  EXPECT_EQ(ip_view("bg-t5").inet, (std::set<std::string>{"10.46.0.1/24"}));
}

TEST(BridgeDriver, GatewayChangeReplacesTheAddress) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t6"}};
  Netlink nl;
  BridgeDriver drv(nl);
  drv.ensure(spec("bg-t6", "10.47.0.1/24"), nl.dump());
  EXPECT_EQ(drv.ensure(spec("bg-t6", "10.48.0.1/28"), nl.dump()), OpResult::Updated);
  EXPECT_EQ(ip_view("bg-t6").inet, (std::set<std::string>{"10.48.0.1/28"}));
}

TEST(BridgeDriver, RouteLocalnetFollowsTheSpec) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t7"}};
  Netlink nl;
  BridgeDriver drv(nl);
  const std::string path = "/proc/sys/net/ipv4/conf/bg-t7/route_localnet";
  EXPECT_EQ(drv.ensure(spec("bg-t7", "10.49.0.1/24", true), nl.dump()), OpResult::Created);
  EXPECT_TRUE(route_localnet_enabled("bg-t7"));
  EXPECT_EQ(drv.ensure(spec("bg-t7", "10.49.0.1/24", true), nl.dump()), OpResult::Unchanged);
  EXPECT_EQ(drv.ensure(spec("bg-t7", "10.49.0.1/24", false), nl.dump()), OpResult::Updated);
  EXPECT_FALSE(route_localnet_enabled("bg-t7"));
  set_route_localnet("bg-t7", true);  // drift by hand
  EXPECT_EQ(drv.ensure(spec("bg-t7", "10.49.0.1/24", false), nl.dump()), OpResult::Updated);
  EXPECT_FALSE(route_localnet_enabled("bg-t7"));
}

TEST(BridgeDriver, RefusesAndLeavesAloneANonBridgeLinkWithItsName) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t8"}};
  ip({"link", "add", "bg-t8", "type", "veth", "peer", "name", "bgt8-peer"});
  ip({"addr", "add", "192.168.77.1/24", "dev", "bg-t8"});
  IpView before = ip_view("bg-t8");
  Netlink nl;
  BridgeDriver drv(nl);

  for (const LinkSnapshot& seen : {nl.dump(), LinkSnapshot{}}) {
    std::string err = error_of([&] { drv.ensure(spec("bg-t8", "10.50.0.1/24"), seen); });
    EXPECT_NE(err.find("veth, not a bridge"), std::string::npos) << err;
    EXPECT_NE(err.find("will not touch"), std::string::npos) << err;
  }
  std::string err = error_of([&] { drv.remove("bg-t8"); });
  EXPECT_NE(err.find("not a bridge"), std::string::npos) << err;

  IpView after = ip_view("bg-t8");
  ASSERT_TRUE(after.exists);
  EXPECT_EQ(after.inet, before.inet);
  EXPECT_EQ(after.flags, before.flags);
  EXPECT_EQ(after.mac, before.mac);
  EXPECT_FALSE(route_localnet_enabled("bg-t8"));
}

TEST(BridgeDriver, RemoveDeletesAndAbsentIsSuccess) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t9"}};
  Netlink nl;
  BridgeDriver drv(nl);
  drv.ensure(spec("bg-t9", "10.51.0.1/24"), nl.dump());
  ASSERT_TRUE(ip_view("bg-t9").exists);
  drv.remove("bg-t9");
  EXPECT_FALSE(ip_view("bg-t9").exists);
  EXPECT_EQ(nl.dump().find("bg-t9"), nullptr);
  EXPECT_NO_THROW(drv.remove("bg-t9"));
  EXPECT_NO_THROW(drv.remove("bg-never"));
}

TEST(BridgeDriver, RecreatesABridgeDeletedAfterTheSnapshot) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-t10"}};
  Netlink nl;
  BridgeDriver drv(nl);
  drv.ensure(spec("bg-t10", "10.53.0.1/24", true), nl.dump());
  LinkSnapshot stale = nl.dump();
  ip({"link", "del", "bg-t10"});
  EXPECT_EQ(drv.ensure(spec("bg-t10", "10.53.0.1/24", true), stale), OpResult::Created);
  IpView v = ip_view("bg-t10");
  EXPECT_TRUE(is_bridge_kind(v)) << v.kind_line;
  EXPECT_EQ(v.inet, (std::set<std::string>{"10.53.0.1/24"}));
  EXPECT_TRUE(route_localnet_enabled("bg-t10"));
}

TEST(BridgeDriver, RejectsNamesTheKernelWouldTruncate) {
  REQUIRE_PRIVATE_NETNS();
  Netlink nl;
  BridgeDriver drv(nl);
  std::string err =
      error_of([&] { drv.ensure(spec("bg-far-too-long-name", "10.52.0.1/24"), nl.dump()); });
  EXPECT_NE(err.find("bg-far-too-long-name"), std::string::npos) << err;
  EXPECT_EQ(nl.dump().find("bg-far-too-long"), nullptr);
  EXPECT_THROW(drv.remove("bg-far-too-long-name"), HostError);
  EXPECT_THROW(drv.ensure(spec("", "10.52.0.1/24"), nl.dump()), HostError);
}

}  // namespace
}  // namespace banger
