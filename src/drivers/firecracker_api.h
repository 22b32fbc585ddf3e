// Client for Firecracker's HTTP API on its unix socket (libcurl), following
// ../shared/reference/firecracker-api.yaml (v1.16.1).
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace banger {

struct ApiResponse {
  long status = 0;
  std::string body;
};

class FirecrackerApi {
 public:
  explicit FirecrackerApi(std::string socket_path);
  ~FirecrackerApi();
  FirecrackerApi(const FirecrackerApi&) = delete;
  FirecrackerApi& operator=(const FirecrackerApi&) = delete;

  /// Polls until the socket accepts connections and GET / answers (the file
  /// exists before listen(), so stat is not enough). Throws HostError at timeout,
  /// or at once when `alive` (if given) says the process has died.
  void wait_ready(std::chrono::milliseconds timeout, const std::function<bool()>& alive = {});
  /// Bounds each later request (default 10 s), e.g. to a stop's grace period.
  void set_timeout(std::chrono::milliseconds total) { timeout_ = total; }
  /// PUT/PATCH with a JSON body; throws HostError with Firecracker's
  /// fault_message unless the answer is 2xx.
  void put(const std::string& path, const std::string& json_body);
  void patch(const std::string& path, const std::string& json_body);
  ApiResponse get(const std::string& path);

 private:
  ApiResponse request(const char* method, const std::string& path, const std::string* body);
  std::string socket_;
  std::chrono::milliseconds timeout_{10000};
  void* curl_;  ///< CURL*, reused across requests
};

}  // namespace banger
