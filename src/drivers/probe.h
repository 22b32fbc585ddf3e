// Readiness probes from the host into guests: a TCP connect, or an HTTP GET
// whose status is 2xx/3xx (what kubelet counts as success). Every target of a
// round is probed at once with non-blocking sockets and one poll loop, so a
// round over N VMs costs one timeout, not N.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace banger {

struct ProbeTarget {
  std::string address;  ///< IPv4, dotted quad
  uint16_t port = 0;
  bool http = false;
  std::string path = "/";  ///< http only
};

struct ProbeResult {
  bool ok = false;
  std::string detail;  ///< "HTTP 200", "connection refused", "timed out after 1s", ...
};

/// Probes every target concurrently; each result is final by `timeout`.
std::vector<ProbeResult> probe_all(const std::vector<ProbeTarget>& targets,
                                   std::chrono::milliseconds timeout);

/// "http://10.0.0.2:80/healthz" or "tcp 10.0.0.2:22": how errors name a probe.
std::string describe(const ProbeTarget& t);

/// The status code of an HTTP/1.x status line at the start of `head`;
/// 0 while incomplete, -1 when it is not HTTP. Pure.
int parse_http_status(const std::string& head);

}  // namespace banger
