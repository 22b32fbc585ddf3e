// One URL to one file with libcurl: HTTP(S) and file://, redirects, a connect
// timeout and a stall timeout, retries with back-off, and resume of what a
// previous attempt (or a previous run) left in the file. The caller decides
// what the bytes are worth: nothing here trusts or verifies them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/host_error.h"

namespace banger {

/// Writing the file failed (ENOSPC, EIO, ...): the bytes already in it are
/// not worth keeping, and retrying would fail the same way.
class DownloadWriteError : public HostError {
 public:
  using HostError::HostError;
};

/// A transfer's state, reported while it runs and once when it ends.
struct DownloadProgress {
  std::string label;   ///< who asked ("Image/busybox-web")
  uint64_t done = 0;   ///< bytes in the file, resumed ones included
  uint64_t total = 0;  ///< expected size; 0 = the server did not say
  uint64_t resumed_from = 0;
  double seconds = 0;  ///< since the download started (all attempts)
  bool finished = false;
  bool failed = false;  ///< it ended with an error (thrown to the caller)
  std::string sha256;   ///< set by ArtifactStore on the report of a verified download
};
/// Called from the downloading thread: at most ~10 times a second while bytes
/// arrive, and once with finished = true on success.
using DownloadProgressFn = std::function<void(const DownloadProgress&)>;

struct DownloadOptions {
  std::chrono::seconds connect_timeout{30};
  /// A transfer slower than stall_bytes_per_second for stall_time is aborted
  /// (and retried): a dead server never hangs apply.
  std::chrono::seconds stall_time{60};
  long stall_bytes_per_second = 1;
  int retries = 3;  ///< attempts after the first
  /// Waits before retry n are backoff * 2^(n-1): 1 s, 2 s, 4 s by default.
  std::chrono::milliseconds backoff{1000};
  long max_redirects = 10;
  DownloadProgressFn progress;
  /// Extra request headers ("Authorization: Bearer ..." for a registry's
  /// blob). libcurl drops them on a redirect to another host.
  std::vector<std::string> headers;
  /// What a 4xx answer tells the user to check.
  std::string check_hint = "check spec.url";
};

struct DownloadResult {
  uint64_t bytes = 0;         ///< size of the file at the end
  uint64_t resumed_from = 0;  ///< bytes already in the file when the first attempt began
  int attempts = 0;
  double seconds = 0;
};

/// Appends url's content to `path` from the file's current size (a Range
/// request; a server that answers 200 instead of 206 makes it start again
/// from zero), retrying transient failures (connection errors, stalls,
/// HTTP 408/429/5xx) up to opts.retries times. Throws HostError naming
/// `label` and the URL: HTTP >= 400 with its status, or the last transient
/// error; DownloadWriteError (no retry) when the file cannot be written. The file is
/// left as it is on failure; deleting it is the caller's choice.
DownloadResult download_to_file(const std::string& label, const std::string& url,
                                const std::string& path, const DownloadOptions& opts);

}  // namespace banger
