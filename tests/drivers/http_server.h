// A small HTTP/1.1 server for download tests: a thread listening on
// 127.0.0.1 (port chosen by the kernel) that serves bodies given by the test,
// with Range requests (206), 404 for unknown paths, redirects, failures on
// the first N requests, and a connection dropped half way. It counts the
// requests per path. Nothing leaves the loopback interface.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banger::test {

class HttpServer {
 public:
  HttpServer();  ///< listening when constructed; throws std::runtime_error
  ~HttpServer();  ///< stops, closes every connection, joins every thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const;  ///< "http://127.0.0.1:PORT/path"

  /// 200 with `body` (206 for "Range: bytes=N-").
  void serve(const std::string& path, std::string body);
  /// 302 to `location` (a path on this server, or a full URL).
  void redirect(const std::string& path, const std::string& location);
  /// The first `times` requests for `path` answer `status` with a short body.
  void fail_first(const std::string& path, int status, int times);
  /// The first request for `path` sends its headers (full length) and only
  /// `bytes` of the body, then closes the connection.
  void drop_first_after(const std::string& path, size_t bytes);
  /// Range headers are ignored: always 200 and the whole body.
  void ignore_range(const std::string& path);

  int requests(const std::string& path) const;
  /// The "Range" header of each request for `path` ("" when none), in order.
  std::vector<std::string> ranges(const std::string& path) const;

 private:
  struct Route {
    std::shared_ptr<const std::string> body = std::make_shared<const std::string>();
    std::string location;
    int fail_status = 0;
    int fail_times = 0;
    size_t drop_after = 0;
    bool drop = false;
    bool ignore_range = false;
    std::vector<std::string> ranges;
  };
  void accept_loop();
  void handle(int fd);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  ///< written to by the destructor to end accept_loop
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> counts_;
  std::vector<int> open_fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace banger::test
