// Readiness probes against real sockets on the private namespace's loopback:
// a listener that answers HTTP, one that accepts and says nothing, a closed
// port, and many targets in one round.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "drivers/probe.h"
#include "netns.h"

namespace banger {
namespace {

using namespace std::chrono_literals;

// A loopback listener on an ephemeral port; `reply` is sent to every
// connection after the request arrived ("" = accept and stay silent).
class Listener {
 public:
  explicit Listener(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    EXPECT_EQ(listen(fd_, 64), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~Listener() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return request_;
  }

 private:
  void serve() {
    std::vector<int> held;
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) break;
      if (reply_.empty()) {
        held.push_back(c);  // silent: keep it open until the end
        continue;
      }
      char buf[1024];
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n > 0) {
        std::lock_guard lock(mu_);
        request_.assign(buf, static_cast<size_t>(n));
      }
      (void)!send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      close(c);
    }
    for (int c : held) close(c);
  }
  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string request_;
};

// A port nothing listens on: bind, note the port, close.
uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

TEST(Probe, HttpPassesOn2xxAnd3xxAndSendsTheConfiguredPath) {
  REQUIRE_PRIVATE_NETNS();
  Listener ok("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  Listener moved("HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n");
  auto r = probe_all({{"127.0.0.1", ok.port(), true, "/healthz"}, {"127.0.0.1", moved.port(), true, "/"}}, 2s);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].ok) << r[0].detail;
  EXPECT_EQ(r[0].detail, "HTTP 200");
  EXPECT_TRUE(r[1].ok) << r[1].detail;
  EXPECT_EQ(ok.last_request().rfind("GET /healthz HTTP/1.0\r\n", 0), 0u) << ok.last_request();
  EXPECT_NE(ok.last_request().find("Host: 127.0.0.1:" + std::to_string(ok.port())), std::string::npos);
}

TEST(Probe, HttpFailsOnErrorStatusAndOnWhatIsNotHttp) {
  REQUIRE_PRIVATE_NETNS();
  Listener err("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  Listener ssh("SSH-2.0-OpenSSH_9.2\r\n");
  auto r = probe_all({{"127.0.0.1", err.port(), true, "/"}, {"127.0.0.1", ssh.port(), true, "/"}}, 2s);
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].detail, "HTTP 503");
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].detail, "not an HTTP response");
}

TEST(Probe, TcpPassesOnConnectAndFailsOnRefusal) {
  REQUIRE_PRIVATE_NETNS();
  Listener silent("");
  uint16_t closed = closed_port();
  auto r = probe_all({{"127.0.0.1", silent.port(), false, ""}, {"127.0.0.1", closed, false, ""}}, 2s);
  EXPECT_TRUE(r[0].ok) << r[0].detail;
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].detail, "Connection refused");
}

TEST(Probe, ASilentServerTimesOutWithinTheRoundAndDoesNotHoldUpOthers) {
  REQUIRE_PRIVATE_NETNS();
  Listener silent("");
  Listener ok("HTTP/1.0 204 No Content\r\n\r\n");
  auto t0 = std::chrono::steady_clock::now();
  auto r = probe_all({{"127.0.0.1", silent.port(), true, "/"}, {"127.0.0.1", ok.port(), true, "/"}}, 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].detail, "timed out after 300ms");
  EXPECT_TRUE(r[1].ok) << r[1].detail;
  EXPECT_LT(took, 3s);  // bounded by the round, not by the silent peer
}

TEST(Probe, ManyTargetsShareOneRound) {
  REQUIRE_PRIVATE_NETNS();
  Listener ok("HTTP/1.0 200 OK\r\n\r\n");
  std::vector<ProbeTarget> targets(50, ProbeTarget{"127.0.0.1", ok.port(), true, "/"});
  targets.push_back({"127.0.0.1", closed_port(), false, ""});
  targets.push_back({"not-an-ip", 80, false, ""});
  auto r = probe_all(targets, 5s);
  ASSERT_EQ(r.size(), targets.size());
  for (size_t i = 0; i < 50; ++i) EXPECT_TRUE(r[i].ok) << i << ": " << r[i].detail;
  EXPECT_FALSE(r[50].ok);
  EXPECT_FALSE(r[51].ok);
  EXPECT_EQ(r[51].detail, "bad address not-an-ip");
}

}  // namespace
}  // namespace banger
