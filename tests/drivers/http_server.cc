#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace banger::test {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

bool send_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads up to the end of the request headers; "" when the client went away.
std::string read_request(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 64 * 1024) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return "";
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return "";
    req.append(buf, static_cast<size_t>(n));
  }
  return req;
}

std::string header(const std::string& req, const std::string& name) {
  std::string lower = req;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string key = "\r\n" + name + ":";
  size_t at = lower.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  size_t end = req.find("\r\n", start);
  std::string v = req.substr(start, end - start);
  v.erase(0, v.find_first_not_of(' '));
  return v;
}

}  // namespace

HttpServer::HttpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind 127.0.0.1:0");
  if (::listen(listen_fd_, 64) != 0) fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) fail("pipe");
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  char c = 'x';
  (void)!::write(wake_[1], &c, 1);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpServer::serve(const std::string& path, std::string body) {
  std::lock_guard lock(mu_);
  routes_[path].body = std::make_shared<const std::string>(std::move(body));
}

void HttpServer::redirect(const std::string& path, const std::string& location) {
  std::lock_guard lock(mu_);
  routes_[path].location = location;
}

void HttpServer::fail_first(const std::string& path, int status, int times) {
  std::lock_guard lock(mu_);
  routes_[path].fail_status = status;
  routes_[path].fail_times = times;
}

void HttpServer::drop_first_after(const std::string& path, size_t bytes) {
  std::lock_guard lock(mu_);
  routes_[path].drop = true;
  routes_[path].drop_after = bytes;
}

void HttpServer::ignore_range(const std::string& path) {
  std::lock_guard lock(mu_);
  routes_[path].ignore_range = true;
}

int HttpServer::requests(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<std::string> HttpServer::ranges(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = routes_.find(path);
  return it == routes_.end() ? std::vector<std::string>{} : it->second.ranges;
}

void HttpServer::accept_loop() {
  while (!stop_) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { handle(fd); });
  }
}

void HttpServer::handle(int fd) {
  std::string req = read_request(fd);
  if (!req.empty()) {
    std::string line = req.substr(0, req.find("\r\n"));
    size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
    std::string path = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string range = header(req, "range");
    // Decide under the lock, send without it: a large body must not block
    // the other connections' bookkeeping.
    std::string head;
    // The body is shared with the route, never copied: benches serve 256 MiB.
    std::shared_ptr<const std::string> body = std::make_shared<const std::string>();
    size_t from = 0;
    size_t limit = std::string::npos;
    auto text = [](const std::string& t) { return std::make_shared<const std::string>(t); };
    {
      std::lock_guard lock(mu_);
      ++counts_[path];
      auto it = routes_.find(path);
      if (it == routes_.end()) {
        body = text("not found\n");
        head = "HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
      } else {
        Route& r = it->second;
        r.ranges.push_back(range);
        const size_t size = r.body->size();
        if (r.fail_times > 0) {
          --r.fail_times;
          body = text("failing on purpose\n");
          head = "HTTP/1.1 " + std::to_string(r.fail_status) + " Failing\r\nContent-Length: " +
                 std::to_string(body->size()) + "\r\n";
        } else if (!r.location.empty()) {
          std::string loc = r.location.rfind("http", 0) == 0 ? r.location : url(r.location);
          head = "HTTP/1.1 302 Found\r\nLocation: " + loc + "\r\nContent-Length: 0\r\n";
        } else {
          if (!r.ignore_range && range.rfind("bytes=", 0) == 0) from = std::stoull(range.substr(6));
          if (from > size || (from == size && from > 0)) {
            from = 0;
            head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + std::to_string(size) +
                   "\r\nContent-Length: 0\r\n";
          } else {
            body = r.body;
            if (from > 0) {
              head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) + "-" +
                     std::to_string(size - 1) + "/" + std::to_string(size) + "\r\n";
            } else {
              head = "HTTP/1.1 200 OK\r\n";
            }
            head += "Content-Length: " + std::to_string(size - from) + "\r\n";
            if (r.drop) {
              r.drop = false;
              limit = r.drop_after;
            }
          }
        }
      }
    }
    head += "Accept-Ranges: bytes\r\nConnection: close\r\n\r\n";
    if (send_all(fd, head.data(), head.size())) {
      send_all(fd, body->data() + from, std::min(limit, body->size() - from));
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mu_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  ::close(fd);
}

}  // namespace banger::test
