#include "drivers/firecracker_api.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/host_error.h"
#include "drivers/curl_lib.h"

namespace banger {
namespace {

// sun_path is 108 bytes with the NUL; libcurl reports a longer path as
// "Couldn't resolve host name", which would send the user looking in the
// wrong place (host-apis.md §5).
constexpr size_t kMaxSocketPath = 107;

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Firecracker answers errors with {"fault_message": "..."}; anything else is
// shown as it came, shortened.
std::string fault_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("fault_message") && j["fault_message"].is_string()) {
    return j["fault_message"].get<std::string>();
  }
  std::string s = body.substr(0, 300);
  return s.empty() ? "(empty body)" : s;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_api().curl_slist_free_all(l); }
};

}  // namespace

FirecrackerApi::FirecrackerApi(std::string socket_path) : socket_(std::move(socket_path)) {
  if (socket_.empty() || socket_.size() > kMaxSocketPath) {
    throw HostError("Firecracker API socket path \"" + socket_ + "\" is " +
                    std::to_string(socket_.size()) + " bytes; a unix socket path must be 1.." +
                    std::to_string(kMaxSocketPath) +
                    " bytes: use a shorter run dir (--run-dir or BANGER_RUN_DIR)");
  }
  curl_ = curl_api().curl_easy_init();
  if (!curl_)
    throw HostError("libcurl could not create a handle for " + socket_ + " (out of memory?)");
}

FirecrackerApi::~FirecrackerApi() { curl_api().curl_easy_cleanup(static_cast<CURL*>(curl_)); }

ApiResponse FirecrackerApi::request(const char* method, const std::string& path,
                                    const std::string* body) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_api().curl_easy_reset(c);
  std::string url = "http://localhost" + path;
  ApiResponse resp;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&](const char* h) {
    curl_slist* l = curl_api().curl_slist_append(headers.get(), h);
    if (!l) throw HostError("libcurl: out of memory building headers");
    headers.release();
    headers.reset(l);
  };
  add("Accept: application/json");
  // Without this, libcurl waits up to 1 s for "100 Continue" on large bodies.
  add("Expect:");
  long total_ms = std::max<long>(1, static_cast<long>(timeout_.count()));
  curl_api().curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
  curl_api().curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_api().curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    add("Content-Type: application/json");
    curl_api().curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_api().curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  } else {
    curl_api().curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_api().curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_api().curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_api().curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  // No SIGALRM-based timeouts: banger is multithreaded.
  curl_api().curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_api().curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(total_ms, 1000L));
  curl_api().curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
  CURLcode rc = curl_api().curl_easy_perform(c);
  if (rc != CURLE_OK) {
    throw HostError(std::string("Firecracker API ") + method + " " + path + " on " + socket_ +
                    ": " + curl_api().curl_easy_strerror(rc) +
                    (rc == CURLE_OPERATION_TIMEDOUT
                         ? " (no answer within " + std::to_string(total_ms) + " ms)"
                         : ""));
  }
  curl_api().curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

void FirecrackerApi::put(const std::string& path, const std::string& json_body) {
  ApiResponse r = request("PUT", path, &json_body);
  if (r.status < 200 || r.status > 299) {
    throw HostError("Firecracker API PUT " + path + " answered " + std::to_string(r.status) + ": " +
                    fault_of(r.body));
  }
}

void FirecrackerApi::patch(const std::string& path, const std::string& json_body) {
  ApiResponse r = request("PATCH", path, &json_body);
  if (r.status < 200 || r.status > 299) {
    throw HostError("Firecracker API PATCH " + path + " answered " + std::to_string(r.status) +
                    ": " + fault_of(r.body));
  }
}

ApiResponse FirecrackerApi::get(const std::string& path) {
  ApiResponse r = request("GET", path, nullptr);
  if (r.status < 200 || r.status > 299) {
    throw HostError("Firecracker API GET " + path + " answered " + std::to_string(r.status) + ": " +
                    fault_of(r.body));
  }
  return r;
}

void FirecrackerApi::wait_ready(std::chrono::milliseconds timeout,
                                const std::function<bool()>& alive) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + timeout;
  // The socket appears some milliseconds after launch and refuses connects
  // until listen(). A failed connect costs microseconds, so it is retried
  // every millisecond: the answer comes within 1 ms of the VMM being ready.
  // (An inotify watch on the folder was tried: closing an inotify instance
  // waits for an SRCU grace period, 10 ms here, more than it saved.)
  auto saved = timeout_;
  std::string last_error = "no attempt made";
  for (;;) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    // A listening Firecracker answers GET / in well under a millisecond; a
    // short bound keeps a wedged one from eating the whole budget at once.
    timeout_ = std::clamp(left, milliseconds(1), milliseconds(500));
    try {
      get("/");
      timeout_ = saved;
      return;
    } catch (const HostError& e) {
      last_error = e.what();
    }
    timeout_ = saved;
    if (alive && !alive()) {
      throw HostError("firecracker exited before its API socket " + socket_ + " answered");
    }
    // Rounded up, so that a timeout never ends before the time asked for.
    left = ceil<milliseconds>(deadline - steady_clock::now());
    if (left <= milliseconds(0)) break;
    std::this_thread::sleep_for(std::min(milliseconds(1), left));
  }
  throw HostError("Firecracker API on " + socket_ + " did not answer within " +
                  std::to_string(timeout.count()) + " ms (last error: " + last_error + ")");
}

}  // namespace banger
