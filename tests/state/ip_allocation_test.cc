// Store::allocate_ip: sticky, honours wanted addresses, never gives out the
// gateway, network or broadcast address, and says when a subnet is full.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "common/host_error.h"
#include "state/store.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

using state_test::TempDir;

Cidr cidr(const char* s) { return *parse_cidr(s); }
Ipv4 ip(const char* s) { return *parse_ipv4(s); }

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const HostError& e) {
    return e.what();
  }
  return "(no HostError)";
}

TEST(IpAllocation, LowestFreeAfterGatewayAndStickyAcrossReopen) {
  TempDir t;
  const Cidr net = cidr("172.20.0.0/24");
  {
    Store s(t.state_dir());
    EXPECT_EQ(s.allocate_ip("default", net, "a", std::nullopt), ip("172.20.0.2"));
    EXPECT_EQ(s.allocate_ip("default", net, "b", std::nullopt), ip("172.20.0.3"));
    EXPECT_EQ(s.allocate_ip("default", net, "a", std::nullopt), ip("172.20.0.2"));
  }
  Store s(t.state_dir());
  EXPECT_EQ(s.allocated_ip("default", "b"), ip("172.20.0.3"));
  EXPECT_EQ(s.allocate_ip("default", net, "b", std::nullopt), ip("172.20.0.3"));
  EXPECT_EQ(s.allocate_ip("default", net, "c", std::nullopt), ip("172.20.0.4"));
  EXPECT_FALSE(s.allocated_ip("default", "nobody"));
  EXPECT_EQ(s.allocations().size(), 3u);
}

TEST(IpAllocation, WantedIsHonouredAndConflictsAreErrors) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr net = cidr("10.9.0.0/24");
  EXPECT_EQ(s.allocate_ip("fleet", net, "a", ip("10.9.0.50")), ip("10.9.0.50"));
  // Every later apply asks again for the same address: that is no conflict.
  EXPECT_EQ(s.allocate_ip("fleet", net, "a", ip("10.9.0.50")), ip("10.9.0.50"));
  // The automatic allocator skips nothing below a static address.
  EXPECT_EQ(s.allocate_ip("fleet", net, "b", std::nullopt), ip("10.9.0.2"));

  std::string msg = message_of([&] { s.allocate_ip("fleet", net, "c", ip("10.9.0.50")); });
  EXPECT_NE(msg.find("10.9.0.50"), std::string::npos) << msg;
  EXPECT_NE(msg.find("already allocated to VM a"), std::string::npos) << msg;
  EXPECT_FALSE(s.allocated_ip("fleet", "c")) << "a failed allocation must leave nothing";

  for (const char* bad : {"10.9.0.0", "10.9.0.1", "10.9.0.255", "10.9.1.7"}) {
    msg = message_of([&] { s.allocate_ip("fleet", net, "c", ip(bad)); });
    EXPECT_NE(msg.find("not a usable address of network fleet (10.9.0.0/24)"), std::string::npos)
        << bad << ": " << msg;
  }
}

TEST(IpAllocation, VmMovesToANewWantedAddressAndFreesTheOld) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr net = cidr("10.9.0.0/24");
  EXPECT_EQ(s.allocate_ip("fleet", net, "a", std::nullopt), ip("10.9.0.2"));
  EXPECT_EQ(s.allocate_ip("fleet", net, "a", ip("10.9.0.77")), ip("10.9.0.77"));
  EXPECT_EQ(s.allocated_ip("fleet", "a"), ip("10.9.0.77"));
  EXPECT_EQ(s.allocations().size(), 1u);
  EXPECT_EQ(s.allocate_ip("fleet", net, "b", std::nullopt), ip("10.9.0.2"));
  // Dropping `ip:` from the manifest keeps the address it has (sticky).
  EXPECT_EQ(s.allocate_ip("fleet", net, "a", std::nullopt), ip("10.9.0.77"));
}

TEST(IpAllocation, ExhaustionOnSlash29) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr net = cidr("192.168.5.8/29");  // .9 gateway, .10-.14 for VMs, .15 broadcast
  for (int i = 0; i < 5; ++i) {
    Ipv4 got = s.allocate_ip("small", net, "vm" + std::to_string(i), std::nullopt);
    EXPECT_EQ(got.value, ip("192.168.5.10").value + static_cast<uint32_t>(i));
  }
  std::string msg = message_of([&] { s.allocate_ip("small", net, "vm5", std::nullopt); });
  EXPECT_NE(msg.find("network small (192.168.5.8/29) has no free address"), std::string::npos)
      << msg;
  EXPECT_FALSE(s.allocated_ip("small", "vm5"));
  EXPECT_EQ(s.allocations().size(), 5u);
}

TEST(IpAllocation, ReleaseFreesTheAddressForReuse) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr net = cidr("192.168.5.8/29");
  for (int i = 0; i < 5; ++i) s.allocate_ip("small", net, "vm" + std::to_string(i), std::nullopt);
  s.release_ips("vm2");
  s.release_ips("vm2");  // absent is fine
  EXPECT_FALSE(s.allocated_ip("small", "vm2"));
  EXPECT_EQ(s.allocate_ip("small", net, "new", std::nullopt), ip("192.168.5.12"));
}

TEST(IpAllocation, NetworksAreIndependent) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr a = cidr("10.1.0.0/24"), b = cidr("10.2.0.0/24");
  EXPECT_EQ(s.allocate_ip("a", a, "vm", std::nullopt), ip("10.1.0.2"));
  EXPECT_EQ(s.allocate_ip("b", b, "vm", std::nullopt), ip("10.2.0.2"));
  EXPECT_EQ(s.allocate_ip("b", b, "other", std::nullopt), ip("10.2.0.3"));
  EXPECT_EQ(s.allocate_ip("a", a, "other", std::nullopt), ip("10.1.0.3"));
  // Release covers every network of the VM, and only that VM.
  s.release_ips("vm");
  EXPECT_FALSE(s.allocated_ip("a", "vm"));
  EXPECT_FALSE(s.allocated_ip("b", "vm"));
  EXPECT_EQ(s.allocations().size(), 2u);
}

TEST(IpAllocation, AddressFromAnOldSubnetIsReplaced) {
  TempDir t;
  Store s(t.state_dir());
  EXPECT_EQ(s.allocate_ip("n", cidr("10.1.0.0/24"), "vm", std::nullopt), ip("10.1.0.2"));
  EXPECT_EQ(s.allocate_ip("n", cidr("10.7.0.0/24"), "vm", std::nullopt), ip("10.7.0.2"));
  EXPECT_EQ(s.allocations().size(), 1u);
}

TEST(IpAllocation, ConcurrentThreadsNeverShareAnAddress) {
  TempDir t;
  Store s(t.state_dir());
  const Cidr net = cidr("10.5.0.0/24");
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int th = 0; th < 8; ++th)
    threads.emplace_back([&, th] {
      for (int i = 0; i < 25; ++i) {
        try {
          s.allocate_ip("n", net, "t" + std::to_string(th) + "-" + std::to_string(i), std::nullopt);
        } catch (...) {
          ++errors;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors, 0);
  std::set<std::string> ips;
  for (const auto& a : s.allocations()) ips.insert(a.ip);
  EXPECT_EQ(ips.size(), 200u);
}

TEST(IpAllocation, ConcurrentProcessesNeverShareAnAddress) {
  TempDir t;
  { Store s(t.state_dir()); }
  const Cidr net = cidr("10.6.0.0/24");
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(60);
      try {
        Store s(t.state_dir());  // its own connection: SQLite's locks, not our mutex
        for (int i = 0; i < 30; ++i)
          s.allocate_ip("n", net, "p" + std::to_string(k) + "-" + std::to_string(i), std::nullopt);
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  Store s(t.state_dir());
  std::set<std::string> ips;
  for (const auto& a : s.allocations()) ips.insert(a.ip);
  EXPECT_EQ(ips.size(), 120u);
}

}  // namespace
}  // namespace banger
