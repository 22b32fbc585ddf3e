#include "drivers/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/host_error.h"

namespace banger {

namespace {

void send_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went: nothing to tell it
    done += static_cast<size_t>(n);
  }
}

std::string response(int status, const char* reason, const std::string& type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address, std::function<std::string()> body) : body_(std::move(body)) {
  std::string host = "127.0.0.1", port = address;
  if (size_t colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  char* end = nullptr;
  long p = port.empty() ? -1 : std::strtol(port.c_str(), &end, 10);
  if (p < 0 || p > 65535 || (end && *end) || ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    throw HostError("--metrics-address " + address + ": expected HOST:PORT with an IPv4 address, or PORT",
                    ErrorCode::Invalid);
  }
  sa.sin_port = htons(static_cast<uint16_t>(p));
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw HostError::from_errno("metrics: socket", errno);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listen_fd_, 16) != 0) {
    int e = errno;
    ::close(listen_fd_);
    throw HostError::from_errno("metrics: listening on " + address, e);
  }
  socklen_t len = sizeof sa;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  address_ = host + ":" + std::to_string(ntohs(sa.sin_port));
  if (::pipe2(stop_, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(listen_fd_);
    throw HostError::from_errno("metrics: pipe", e);
  }
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  if (stop_[1] >= 0) (void)!::write(stop_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : {listen_fd_, stop_[0], stop_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void MetricsServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    answer(fd);
    ::close(fd);
  }
}

void MetricsServer::answer(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  const std::string line = req.substr(0, req.find("\r\n"));
  const size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    return send_all(fd, response(400, "Bad Request", "text/plain", "bad request\n"));
  }
  const std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string path = target.substr(0, target.find('?'));
  if (path != "/metrics") return send_all(fd, response(404, "Not Found", "text/plain", "try /metrics\n"));
  if (method != "GET" && method != "HEAD") {
    return send_all(fd, response(405, "Method Not Allowed", "text/plain", "GET /metrics\n"));
  }
  std::string r = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body_());
  if (method == "HEAD") r = r.substr(0, r.find("\r\n\r\n") + 4);
  send_all(fd, r);
}

}  // namespace banger
