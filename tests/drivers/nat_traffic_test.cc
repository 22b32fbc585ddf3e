// Real packets through NatDriver's rules. Inside the test's private netns
// ("host"): a bridge with the gateway address, a veth into a "guest" netns
// that runs a tiny TCP and UDP server, and a veth into a "client" netns that
// stands in for another machine. The two extra namespaces are held only by
// file descriptors (no /run/netns name), so they vanish with this process
// even if it is killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "drivers/nat.h"
#include "netns.h"
#include "netns_scope.h"
#include "run_command.h"

namespace banger {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";

void ip_cmd(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kIp};
  argv.insert(argv.end(), args.begin(), args.end());
  test::CommandResult r = test::run_command(argv, "", 10);
  if (r.exit_code != 0) throw std::runtime_error("ip failed: " + r.err);
}

using test::InNetns;
using test::Netns;

// Links made in the test's netns; deleting a veth end deletes its peer too.
struct LinkCleanup {
  std::vector<std::string> names;
  ~LinkCleanup() {
    for (const auto& n : names) test::run_command({kIp, "link", "del", n}, "", 10);
  }
};

struct TableCleanup {
  ~TableCleanup() {
    try {
      NatDriver().apply({});
    } catch (...) {
    }
  }
};

// /proc/sys/net follows the calling thread's netns. Refuse to write unless
// netns_main.cc moved us, and the thread is not in pid 1's namespace (that
// link is unreadable from inside a fresh netns here, so only checked if readable).
void write_sysctl(const std::string& path, const std::string& value) {
  struct stat self {
  }, host{};
  bool maybe_host = stat("/proc/thread-self/ns/net", &self) != 0 ||
                    (stat("/proc/1/ns/net", &host) == 0 && self.st_ino == host.st_ino &&
                     self.st_dev == host.st_dev);
  if (!test::g_in_private_netns || maybe_host) {
    throw std::runtime_error("refusing to write " + path + " outside a private netns");
  }
  std::ofstream(path) << value;
}

int bound_socket(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{AF_INET, htons(port), {htonl(INADDR_ANY)}};
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  if (type == SOCK_STREAM) listen(fd, 16);
  return fd;
}

std::string peer_text(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return buf;
}

// Answers each TCP connection and each UDP datagram with "...from guest to
// PEER", PEER being the source address the guest saw (shows masquerading).
class GuestServer {
 public:
  GuestServer(int tcp, int udp) : tcp_(tcp), udp_(udp) {
    if (pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this] { serve(); });
  }
  ~GuestServer() {
    if (write(stop_[1], "x", 1) != 1) std::abort();  // the thread would never end
    thread_.join();
    close(tcp_), close(udp_), close(stop_[0]), close(stop_[1]);
  }

 private:
  void serve() {
    for (;;) {
      pollfd p[3] = {{tcp_, POLLIN, 0}, {udp_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(p, 3, -1) < 0) continue;
      if (p[2].revents) return;
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      if (p[0].revents & POLLIN) {
        int c = accept4(tcp_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (c >= 0) {
          std::string msg = "tcp from guest to " + peer_text(peer);
          send(c, msg.data(), msg.size(), MSG_NOSIGNAL);
          close(c);
        }
      }
      if (p[1].revents & POLLIN) {
        char buf[512];
        len = sizeof peer;
        if (recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len) >= 0) {
          std::string msg = "udp from guest to " + peer_text(peer);
          sendto(udp_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
        }
      }
    }
  }
  int tcp_, udp_;
  int stop_[2];
  std::thread thread_;
};

// One request, bounded by a 3 s timeout; nullopt when refused or unanswered.
std::optional<std::string> ask(int type, const char* addr, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{AF_INET, htons(port), {}};
  inet_pton(AF_INET, addr, &a.sin_addr);
  std::optional<std::string> answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      (type == SOCK_STREAM || send(fd, "?", 1, 0) == 1)) {
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) answer = std::string(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}
std::optional<std::string> tcp(const char* addr, uint16_t port) {
  return ask(SOCK_STREAM, addr, port);
}
std::optional<std::string> udp(const char* addr, uint16_t port) {
  return ask(SOCK_DGRAM, addr, port);
}

TEST(NatTraffic, ForwardsReachTheGuestFromLoopbackBridgeAndOutside) {
  REQUIRE_PRIVATE_NETNS();
  if (access(kIp, X_OK) != 0) GTEST_SKIP() << "needs " << kIp << " (iproute2) to wire the test";
  LinkCleanup links;
  TableCleanup table;
  Netns guest, client;

  // Host side: bridge 10.77.0.1/24 (the gateway), uplink 10.66.0.1/24 to the client.
  links.names = {"bgt-br", "bgt-vh", "bgt-up"};
  ip_cmd({"link", "add", "bgt-br", "type", "bridge"});
  ip_cmd({"addr", "add", "10.77.0.1/24", "dev", "bgt-br"});
  ip_cmd({"link", "set", "bgt-br", "up"});
  ip_cmd({"link", "add", "bgt-vh", "type", "veth", "peer", "name", "bgt-vg"});
  ip_cmd({"link", "set", "bgt-vh", "master", "bgt-br", "up"});
  ip_cmd({"link", "set", "bgt-vg", "netns", guest.path()});
  ip_cmd({"link", "add", "bgt-up", "type", "veth", "peer", "name", "bgt-uc"});
  ip_cmd({"addr", "add", "10.66.0.1/24", "dev", "bgt-up"});
  ip_cmd({"link", "set", "bgt-up", "up"});
  ip_cmd({"link", "set", "bgt-uc", "netns", client.path()});
  write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");  // client -> guest is routed
  // What the bridge driver does for a NAT network: without it the kernel
  // drops packets with a 127.0.0.0/8 source on their way out of the bridge.
  write_sysctl("/proc/sys/net/ipv4/conf/bgt-br/route_localnet", "1");

  std::optional<GuestServer> server;
  {
    InNetns in(guest);
    ip_cmd({"link", "set", "lo", "up"});
    ip_cmd({"addr", "add", "10.77.0.2/24", "dev", "bgt-vg"});
    ip_cmd({"link", "set", "bgt-vg", "up"});
    ip_cmd({"route", "add", "default", "via", "10.77.0.1"});
    // Sockets belong to the netns they were made in, wherever they are used.
    server.emplace(bound_socket(SOCK_STREAM, 8080), bound_socket(SOCK_DGRAM, 5353));
  }
  {
    InNetns in(client);
    ip_cmd({"addr", "add", "10.66.0.2/24", "dev", "bgt-uc"});
    ip_cmd({"link", "set", "bgt-uc", "up"});
    ip_cmd({"route", "add", "default", "via", "10.66.0.1"});
  }

  const Cidr subnet = *parse_cidr("10.77.0.0/24");
  const Ipv4 g = *parse_ipv4("10.77.0.2");
  auto fwd = [&](const char* name, Protocol p, const char* host, uint16_t port, uint16_t gport) {
    return DnatRule{name, p, *parse_ipv4(host), port, g, gport, subnet};
  };
  NatRuleset rules;
  rules.masquerades = {{"tnet", subnet}};
  rules.forwards = {fwd("any", Protocol::Tcp, "0.0.0.0", 18080, 8080),
                    fwd("local", Protocol::Tcp, "127.0.0.1", 18081, 8080),
                    fwd("gw", Protocol::Tcp, "10.77.0.1", 18082, 8080),
                    fwd("dns-local", Protocol::Udp, "127.0.0.1", 15353, 5353),
                    fwd("dns-any", Protocol::Udp, "0.0.0.0", 15354, 5353)};

  ASSERT_EQ(tcp("10.77.0.2", 8080),
            std::string("tcp from guest to 10.77.0.1"));  // the wiring itself
  EXPECT_EQ(tcp("127.0.0.1", 18080), std::nullopt);       // nothing forwards yet

  NatDriver nat;
  nat.apply(rules);
  const std::string via_bridge = "tcp from guest to 10.77.0.1";
  const std::string udp_via_bridge = "udp from guest to 10.77.0.1";
  // 127.0.0.1 only works with output DNAT + route_localnet + the loopback masquerade.
  EXPECT_EQ(tcp("127.0.0.1", 18080), via_bridge);
  EXPECT_EQ(tcp("10.77.0.1", 18080), via_bridge);
  // The host's own uplink address: the source stays that address (not in the subnet).
  EXPECT_EQ(tcp("10.66.0.1", 18080), std::string("tcp from guest to 10.66.0.1"));
  EXPECT_EQ(tcp("127.0.0.1", 18081), via_bridge);
  EXPECT_EQ(tcp("10.77.0.1", 18081), std::nullopt);  // bound to 127.0.0.1 only
  EXPECT_EQ(tcp("10.77.0.1", 18082), via_bridge);
  EXPECT_EQ(tcp("127.0.0.1", 18082), std::nullopt);  // bound to 10.77.0.1 only
  EXPECT_EQ(udp("127.0.0.1", 15353), udp_via_bridge);
  EXPECT_EQ(udp("127.0.0.1", 15354), udp_via_bridge);
  {
    // Another machine: prerouting DNAT, routed (ip_forward), not masqueraded.
    InNetns in(client);
    EXPECT_EQ(tcp("10.66.0.1", 18080), std::string("tcp from guest to 10.66.0.2"));
    EXPECT_EQ(udp("10.66.0.1", 15354), std::string("udp from guest to 10.66.0.2"));
    EXPECT_EQ(tcp("10.66.0.1", 18081), std::nullopt);
    EXPECT_EQ(udp("10.66.0.1", 15353), std::nullopt);
  }

  nat.apply({});
  EXPECT_EQ(tcp("127.0.0.1", 18080), std::nullopt);  // gone with the table
}

}  // namespace
}  // namespace banger
