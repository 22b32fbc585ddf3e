#include "drivers/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace banger {

namespace {

using Clock = std::chrono::steady_clock;

enum class Phase { Connecting, Sending, Reading, Done };

struct Probe {
  const ProbeTarget* target = nullptr;
  UniqueFd fd;
  Phase phase = Phase::Done;
  std::string request;
  size_t sent = 0;
  std::string head;
  ProbeResult result;

  void finish(bool ok, std::string detail) {
    result = {ok, std::move(detail)};
    phase = Phase::Done;
    fd.reset();
  }
};

std::string request_for(const ProbeTarget& t) {
  // HTTP/1.0 with Connection: close keeps the exchange to one round trip and
  // lets minimal guest servers (busybox httpd) answer without keep-alive.
  return "GET " + t.path + " HTTP/1.0\r\nHost: " + t.address + ":" + std::to_string(t.port) +
         "\r\nUser-Agent: banger-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

void start(Probe& p) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(p.target->port);
  if (inet_pton(AF_INET, p.target->address.c_str(), &sa.sin_addr) != 1) {
    p.finish(false, "bad address " + p.target->address);
    return;
  }
  p.fd.reset(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!p.fd) {
    p.finish(false, std::string("socket: ") + strerror(errno));
    return;
  }
  p.phase = Phase::Connecting;
  if (connect(p.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return;
  if (errno != EINPROGRESS) p.finish(false, strerror(errno));
}

// Called when the socket is writable in Connecting/Sending phase.
void on_writable(Probe& p) {
  if (p.phase == Phase::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(p.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return p.finish(false, strerror(err));
    if (!p.target->http) return p.finish(true, "connected");
    p.request = request_for(*p.target);
    p.phase = Phase::Sending;
  }
  ssize_t n = send(p.fd.get(), p.request.data() + p.sent, p.request.size() - p.sent, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) p.finish(false, std::string("send: ") + strerror(errno));
    return;
  }
  p.sent += static_cast<size_t>(n);
  if (p.sent == p.request.size()) p.phase = Phase::Reading;
}

void on_readable(Probe& p) {
  char buf[512];
  ssize_t n = recv(p.fd.get(), buf, sizeof buf, 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) p.finish(false, std::string("recv: ") + strerror(errno));
    return;
  }
  if (n > 0) p.head.append(buf, static_cast<size_t>(n));
  int status = parse_http_status(p.head);
  if (status < 0) return p.finish(false, "not an HTTP response");
  if (status > 0) return p.finish(status >= 200 && status < 400, "HTTP " + std::to_string(status));
  if (n == 0) return p.finish(false, "connection closed before a status line");
  if (p.head.size() > 4096) p.finish(false, "no HTTP status line in 4 KiB");
}

std::string seconds(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
  return std::to_string(ms.count()) + "ms";
}

}  // namespace

int parse_http_status(const std::string& head) {
  // "HTTP/1.1 200 OK\r\n": the code is the three digits after the first space.
  const std::string prefix = "HTTP/";
  size_t cmp = std::min(head.size(), prefix.size());
  if (head.compare(0, cmp, prefix, 0, cmp) != 0) return -1;
  size_t eol = head.find('\n');
  if (eol == std::string::npos) return head.size() > 256 ? -1 : 0;
  size_t sp = head.find(' ');
  if (sp == std::string::npos || sp > eol || sp + 4 > eol) return -1;
  int code = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (head[i] < '0' || head[i] > '9') return -1;
    code = code * 10 + (head[i] - '0');
  }
  return code >= 100 ? code : -1;
}

std::string describe(const ProbeTarget& t) {
  if (t.http) return "http://" + t.address + ":" + std::to_string(t.port) + t.path;
  return "tcp " + t.address + ":" + std::to_string(t.port);
}

std::vector<ProbeResult> probe_all(const std::vector<ProbeTarget>& targets,
                                   std::chrono::milliseconds timeout) {
  std::vector<Probe> probes(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    probes[i].target = &targets[i];
    start(probes[i]);
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < probes.size(); ++i) {
      if (probes[i].phase == Phase::Done) continue;
      short ev = probes[i].phase == Phase::Reading ? POLLIN : POLLOUT;
      fds.push_back({probes[i].fd.get(), ev, 0});
      index.push_back(i);
    }
    if (fds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    for (size_t k = 0; n > 0 && k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Probe& p = probes[index[k]];
      if (p.phase == Phase::Reading) {
        on_readable(p);
      } else {
        on_writable(p);
      }
    }
  }
  std::vector<ProbeResult> out;
  out.reserve(probes.size());
  for (Probe& p : probes) {
    if (p.phase != Phase::Done) p.finish(false, "timed out after " + seconds(timeout));
    out.push_back(std::move(p.result));
  }
  return out;
}

}  // namespace banger
