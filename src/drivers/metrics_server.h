// A minimal HTTP/1.x responder for a Prometheus scrape: GET /metrics
// answers with what `body` returns (text format 0.0.4), anything else 404
// or 405. One thread, one connection at a time (a scraper is one client),
// each with a 2 s read timeout so a stuck client cannot hold it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace banger {

class MetricsServer {
 public:
  /// Listens on "HOST:PORT" (an IPv4 address) or "PORT" (127.0.0.1).
  /// Throws HostError when the address is not one or cannot be bound.
  MetricsServer(const std::string& address, std::function<std::string()> body);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::string address() const { return address_; }  ///< as bound ("127.0.0.1:9464")

 private:
  void serve();
  void answer(int fd);

  std::function<std::string()> body_;
  std::string address_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace banger
