// TapDriver against the real kernel in the test binary's private network
// namespace, cross-checked with `ip -d link` (which, unlike libnl, decodes
// the tun details: tap/tun, persist, multi_queue).
#include "drivers/tap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <vector>
#include <sstream>
#include <stdexcept>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/bridge.h"
#include "netns.h"
#include "ip_cli.h"
#include "run_command.h"

namespace banger {
namespace {

using test::ip;
using test::ip_bin;
using test::ip_try;
using test::LinkGuard;


/// One line of `ip -o -d link show`, or "" when the link does not exist.
std::string ip_link(const std::string& name) {
  test::CommandResult r = test::run_command({ip_bin(), "-o", "-d", "link", "show", "dev", name});
  return r.exit_code == 0 ? r.out : "";
}

bool has(const std::string& line, const std::string& word) {
  return line.find(word) != std::string::npos;
}

std::set<std::string> flags_of(const std::string& line) {
  std::set<std::string> out;
  auto lt = line.find('<'), gt = line.find('>');
  if (lt == std::string::npos || gt == std::string::npos) return out;
  std::stringstream fl(line.substr(lt + 1, gt - lt - 1));
  for (std::string f; std::getline(fl, f, ',');) out.insert(f);
  return out;
}

std::string master_of(const std::string& line) {
  std::stringstream ts(line);
  for (std::string t, prev; ts >> t; prev = t) {
    if (prev == "master") return t;
  }
  return "";
}

/// Attaches to a tap as Firecracker does; returns the fd, or -errno.
int attach_like_a_vm(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const HostError& e) {
    return e.what();
  }
  return "";
}

struct Env {
  Netlink nl;
  BridgeDriver bridges{nl};
  TapDriver taps{nl};
};

BridgeSpec bridge(const std::string& name, const std::string& gw) {
  return BridgeSpec{name, *parse_cidr(gw), false};
}

TEST(TapDriver, CreatesPersistentSingleQueueTapEnslavedAndUp) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-a", "bg-tb1"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb1", "10.60.0.1/24"), env.nl.dump());
  std::string bridge_mac_before =
      ip_link("bg-tb1").substr(ip_link("bg-tb1").find("link/ether"), 28);

  EXPECT_EQ(env.taps.ensure({"bgtap-a", "bg-tb1"}, env.nl.dump()), OpResult::Created);
  LinkSnapshot s = env.nl.dump();
  const LinkState* t = s.find("bgtap-a");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, "tun");
  EXPECT_TRUE(t->up);
  EXPECT_EQ(t->master, s.find("bg-tb1")->ifindex);

  std::string line = ip_link("bgtap-a");
  EXPECT_TRUE(has(line, "tun type tap ")) << line;
  EXPECT_TRUE(has(line, "pi off")) << line;
  EXPECT_TRUE(has(line, "vnet_hdr off")) << line;
  EXPECT_TRUE(has(line, "persist on")) << line;
  EXPECT_FALSE(has(line, "multi_queue")) << line;
  EXPECT_EQ(master_of(line), "bg-tb1");
  EXPECT_TRUE(flags_of(line).count("UP")) << line;
  // The bridge's fixed MAC is not replaced by the new port's.
  EXPECT_TRUE(has(ip_link("bg-tb1"), bridge_mac_before)) << bridge_mac_before;

  int ifindex = t->ifindex;
  EXPECT_EQ(env.taps.ensure({"bgtap-a", "bg-tb1"}, s), OpResult::Unchanged);
  EXPECT_EQ(env.taps.ensure({"bgtap-a", "bg-tb1"}, LinkSnapshot{}), OpResult::Unchanged);
  EXPECT_EQ(env.nl.dump().find("bgtap-a")->ifindex, ifindex);  // same device, not re-made
}

TEST(TapDriver, RepairsADetachedDownTapThroughNetlink) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-b", "bg-tb2", "bg-tb2x"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb2", "10.61.0.1/24"), env.nl.dump());
  env.bridges.ensure(bridge("bg-tb2x", "10.62.0.1/24"), env.nl.dump());
  env.taps.ensure({"bgtap-b", "bg-tb2"}, env.nl.dump());

  ip({"link", "set", "bgtap-b", "nomaster"});
  ip({"link", "set", "bgtap-b", "down"});
  ASSERT_EQ(master_of(ip_link("bgtap-b")), "");
  EXPECT_EQ(env.taps.ensure({"bgtap-b", "bg-tb2"}, env.nl.dump()), OpResult::Updated);
  std::string line = ip_link("bgtap-b");
  EXPECT_EQ(master_of(line), "bg-tb2");
  EXPECT_TRUE(flags_of(line).count("UP")) << line;
  EXPECT_TRUE(has(line, "persist on")) << line;

  // Moved to another bridge by hand: moved back.
  ip({"link", "set", "bgtap-b", "master", "bg-tb2x"});
  EXPECT_EQ(env.taps.ensure({"bgtap-b", "bg-tb2"}, env.nl.dump()), OpResult::Updated);
  EXPECT_EQ(master_of(ip_link("bgtap-b")), "bg-tb2");
  EXPECT_EQ(env.taps.ensure({"bgtap-b", "bg-tb2"}, env.nl.dump()), OpResult::Unchanged);
}

TEST(TapDriver, RecreatesATapDeletedAfterTheSnapshot) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-i", "bg-tb9"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb9", "10.69.0.1/24"), env.nl.dump());
  env.taps.ensure({"bgtap-i", "bg-tb9"}, env.nl.dump());
  ip({"link", "set", "bgtap-i", "down"});
  LinkSnapshot stale = env.nl.dump();
  ip({"link", "del", "bgtap-i"});
  EXPECT_EQ(env.taps.ensure({"bgtap-i", "bg-tb9"}, stale), OpResult::Created);
  std::string line = ip_link("bgtap-i");
  EXPECT_TRUE(has(line, "persist on")) << line;
  EXPECT_EQ(master_of(line), "bg-tb9");
}

TEST(TapDriver, TapHeldByARunningVmIsRepairedAndKeepsWorking) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-c", "bg-tb3"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb3", "10.63.0.1/24"), env.nl.dump());
  env.taps.ensure({"bgtap-c", "bg-tb3"}, env.nl.dump());
  int raw = attach_like_a_vm("bgtap-c");
  ASSERT_GE(raw, 0) << std::strerror(-raw);
  UniqueFd vm(raw);
  ASSERT_EQ(attach_like_a_vm("bgtap-c"), -EBUSY) << "the tap must really be held";

  // A frame from the "guest": 10-byte virtio-net header, then Ethernet.
  unsigned char frame[10 + 60] = {};
  std::memset(frame + 10, 0xff, 6);
  frame[10 + 6] = 0x02;
  frame[10 + 12] = 0x88;
  frame[10 + 13] = 0xb5;  // local experimental ethertype
  ip({"link", "set", "bgtap-c", "nomaster"});
  ip({"link", "set", "bgtap-c", "down"});
  errno = 0;
  EXPECT_EQ(::write(vm.get(), frame, sizeof frame), -1);
  EXPECT_EQ(errno, EIO) << "a down tap refuses frames";

  EXPECT_EQ(env.taps.ensure({"bgtap-c", "bg-tb3"}, env.nl.dump()), OpResult::Updated);
  // A stale snapshot that misses the tap must not try to attach it either.
  EXPECT_EQ(env.taps.ensure({"bgtap-c", "bg-tb3"}, LinkSnapshot{}), OpResult::Unchanged);
  std::string line = ip_link("bgtap-c");
  EXPECT_EQ(master_of(line), "bg-tb3");
  EXPECT_TRUE(flags_of(line).count("UP")) << line;

  EXPECT_EQ(::write(vm.get(), frame, sizeof frame), static_cast<ssize_t>(sizeof frame))
      << std::strerror(errno);
  // And the other way: a broadcast from the host side reaches the VM's fd.
  UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ASSERT_EQ(setsockopt(udp.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof one), 0);
  ASSERT_EQ(setsockopt(udp.get(), SOL_SOCKET, SO_BINDTODEVICE, "bg-tb3", 7), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(0x0a3f00ffu);  // 10.63.0.255
  const std::string marker = "banger-held-tap-probe";
  bool seen = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    ASSERT_GT(sendto(udp.get(), marker.data(), marker.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to),
              0)
        << std::strerror(errno);
    pollfd p{vm.get(), POLLIN, 0};
    while (!seen && poll(&p, 1, 200) > 0) {
      char buf[2048];
      ssize_t n = ::read(vm.get(), buf, sizeof buf);
      if (n > 0) seen = std::string(buf, static_cast<size_t>(n)).find(marker) != std::string::npos;
    }
  }
  EXPECT_TRUE(seen) << "the VM's fd received nothing through the bridge";
}

TEST(TapDriver, RemoveDeletesAndAbsentIsSuccess) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-d", "bg-tb4"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb4", "10.64.0.1/24"), env.nl.dump());
  env.taps.ensure({"bgtap-d", "bg-tb4"}, env.nl.dump());
  ASSERT_NE(ip_link("bgtap-d"), "");
  env.taps.remove("bgtap-d");
  EXPECT_EQ(ip_link("bgtap-d"), "");
  EXPECT_EQ(env.nl.dump().find("bgtap-d"), nullptr);
  EXPECT_NO_THROW(env.taps.remove("bgtap-d"));
  EXPECT_NE(ip_link("bg-tb4"), "") << "removing a tap leaves its bridge";
}

// Many taps in one kernel delete (a link group): ours go, absent ones are
// success, a non-tap of such a name is refused and kept, a foreign link that
// happens to share a group is kept too (the group is one nobody used).
TEST(TapDriver, RemoveManyDeletesOnlyItsTapsInOneGroup) {
  REQUIRE_PRIVATE_NETNS();
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("bgtap-m" + std::to_string(i));
  std::vector<std::string> guarded = names;
  guarded.insert(guarded.end(), {"bg-tb9", "bgtap-mv", "fg-grp", "fg-tap1"});
  LinkGuard guard{guarded};
  Env env;
  env.bridges.ensure(bridge("bg-tb9", "10.69.0.1/24"), env.nl.dump());
  for (const auto& n : names) env.taps.ensure({n, "bg-tb9"}, env.nl.dump());
  ip({"link", "add", "bgtap-mv", "type", "veth", "peer", "name", "bgtap-mv1"});
  ip({"link", "add", "fg-grp", "type", "veth", "peer", "name", "fg-grp1"});
  ip({"link", "set", "fg-grp", "group", "7"});
  ip({"tuntap", "add", "fg-tap1", "mode", "tap"});
  const std::string veth_before = ip_link("bgtap-mv");

  std::vector<std::string> asked = names;
  asked.push_back("bgtap-mv");     // not a tap: refused
  asked.push_back("bgtap-absent");  // absent: success
  asked.push_back("bad name!");     // not an interface name: refused
  std::map<std::string, std::string> failed = env.taps.remove_many(asked);
  EXPECT_EQ(failed.size(), 2u);
  EXPECT_NE(failed["bgtap-mv"].find("not a tap"), std::string::npos) << failed["bgtap-mv"];
  EXPECT_NE(failed["bad name!"].find("not a valid interface name"), std::string::npos) << failed["bad name!"];
  for (const auto& n : names) EXPECT_EQ(ip_link(n), "") << n << " is still there";
  EXPECT_EQ(ip_link("bgtap-mv"), veth_before);
  EXPECT_NE(ip_link("fg-grp"), "");
  EXPECT_NE(ip_link("fg-tap1"), "");
  EXPECT_NE(ip_link("bg-tb9"), "") << "removing taps leaves their bridge";
  EXPECT_TRUE(env.taps.remove_many({}).empty());
  EXPECT_TRUE(env.taps.remove_many({"bgtap-m0"}).empty()) << "gone already: success";
}

TEST(TapDriver, RejectsNamesTheKernelWouldTruncate) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-tb5", "bg-tap-too-long"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb5", "10.65.0.1/24"), env.nl.dump());
  std::string err = error_of([&] {
    env.taps.ensure({"bg-tap-too-long-name", "bg-tb5"}, env.nl.dump());
  });
  EXPECT_NE(err.find("bg-tap-too-long-name"), std::string::npos) << err;
  EXPECT_EQ(ip_link("bg-tap-too-long"), "") << "the truncated name was created";
  EXPECT_THROW(env.taps.remove("bg-tap-too-long-name"), HostError);
  EXPECT_THROW(env.taps.ensure({"", "bg-tb5"}, env.nl.dump()), HostError);
}

TEST(TapDriver, MissingOrWrongBridgeFailsWithoutLeavingATap) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bgtap-e", "bgt-v0"}};
  Env env;
  std::string err = error_of([&] { env.taps.ensure({"bgtap-e", "bg-nobridge"}, env.nl.dump()); });
  EXPECT_NE(err.find("bg-nobridge does not exist"), std::string::npos) << err;
  EXPECT_EQ(ip_link("bgtap-e"), "");
  ip({"link", "add", "bgt-v0", "type", "veth", "peer", "name", "bgt-v1"});
  err = error_of([&] { env.taps.ensure({"bgtap-e", "bgt-v0"}, env.nl.dump()); });
  EXPECT_NE(err.find("not a bridge"), std::string::npos) << err;
  EXPECT_EQ(ip_link("bgtap-e"), "");
}

TEST(TapDriver, RefusesAndLeavesAloneNonTapLinksWithItsName) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"bg-tb6", "bgtap-f", "bgtap-g"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb6", "10.66.0.1/24"), env.nl.dump());
  ip({"link", "add", "bgtap-f", "type", "veth", "peer", "name", "bgtap-f1"});
  ip({"tuntap", "add", "bgtap-g", "mode", "tun"});  // layer 3: cannot join a bridge
  for (const std::string name : {"bgtap-f", "bgtap-g"}) {
    std::string before = ip_link(name);
    for (const LinkSnapshot& seen : {env.nl.dump(), LinkSnapshot{}}) {
      std::string err = error_of([&] { env.taps.ensure({name, "bg-tb6"}, seen); });
      EXPECT_NE(err.find("not a tap"), std::string::npos) << name << ": " << err;
      EXPECT_NE(err.find("will not touch"), std::string::npos) << err;
    }
    EXPECT_NE(error_of([&] { env.taps.remove(name); }), "") << name;
    EXPECT_EQ(ip_link(name), before);
  }
}

TEST(TapDriver, ForeignTapIsUntouchedByAllOfIt) {
  REQUIRE_PRIVATE_NETNS();
  LinkGuard guard{{"fg-tap0", "bgtap-h", "bg-tb7"}};
  ip({"tuntap", "add", "fg-tap0", "mode", "tap"});
  ip({"addr", "add", "192.168.88.1/24", "dev", "fg-tap0"});
  std::string before = ip_link("fg-tap0");
  std::string addr_before = ip({"-o", "addr", "show", "dev", "fg-tap0"});
  Env env;
  env.bridges.ensure(bridge("bg-tb7", "10.67.0.1/24"), env.nl.dump());
  env.taps.ensure({"bgtap-h", "bg-tb7"}, env.nl.dump());
  ip({"link", "set", "bgtap-h", "nomaster"});
  env.taps.ensure({"bgtap-h", "bg-tb7"}, env.nl.dump());
  env.taps.ensure({"bgtap-h", "bg-tb7"}, LinkSnapshot{});
  env.taps.remove("bgtap-h");
  env.bridges.remove("bg-tb7");
  EXPECT_EQ(ip_link("fg-tap0"), before);
  EXPECT_EQ(ip({"-o", "addr", "show", "dev", "fg-tap0"}), addr_before);
}

TEST(TapDriver, OneDumpSeesTwoHundredTapsWithTheirMaster) {
  REQUIRE_PRIVATE_NETNS();
  constexpr int kTaps = 200;
  LinkGuard guard{{"bg-tb8"}};
  Env env;
  env.bridges.ensure(bridge("bg-tb8", "10.68.0.1/24"), env.nl.dump());
  std::vector<std::string> names;
  for (int i = 0; i < kTaps; ++i) names.push_back(tap_name_for("perf-vm-" + std::to_string(i)));
  guard.names.insert(guard.names.end(), names.begin(), names.end());
  LinkSnapshot before = env.nl.dump();
  for (const auto& n : names) ASSERT_EQ(env.taps.ensure({n, "bg-tb8"}, before), OpResult::Created);

  auto t0 = std::chrono::steady_clock::now();
  LinkSnapshot s = env.nl.dump();
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("[   perf   ] one dump of %zu links (%d taps): %.3f ms\n", s.by_name.size(), kTaps,
              static_cast<double>(us) / 1000.0);
  int br = s.find("bg-tb8")->ifindex;
  int ok = 0;
  for (const auto& n : names) {
    const LinkState* t = s.find(n);
    ASSERT_NE(t, nullptr) << n;
    EXPECT_EQ(t->type, "tun") << n;
    EXPECT_EQ(t->master, br) << n;
    EXPECT_TRUE(t->up) << n;
    ok += t->master == br && t->up;
  }
  EXPECT_EQ(ok, kTaps);
}

TEST(TapName, DeterministicPrefixedHexThatFitsIfnamsiz) {
  std::string a = tap_name_for("web");
  EXPECT_EQ(a, tap_name_for("web"));
  EXPECT_NE(a, tap_name_for("web2"));
  EXPECT_EQ(a.size(), 15u);
  EXPECT_EQ(a.rfind("bg-", 0), 0u);
  for (char c : a.substr(3))
    EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) &&
                !std::isupper(static_cast<unsigned char>(c)))
        << a;
  // Pinned: a changed derivation would orphan the taps of every existing VM.
  EXPECT_EQ(a, "bg-5ea0e1194872");  // FNV-1a 64 of "web", top 48 bits
}

TEST(TapName, DistinctForTenThousandNames) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string n = tap_name_for("vm-" + std::to_string(i));
    EXPECT_LE(n.size(), 15u);
    seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

}  // namespace
}  // namespace banger
