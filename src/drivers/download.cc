#include "drivers/download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/curl_lib.h"

namespace banger {
namespace {

using Clock = std::chrono::steady_clock;

// 256 KiB reads instead of libcurl's 16 KiB: a quarter of the write calls
// for the same bytes; from 127.0.0.1 the syscalls are most of the cost.
constexpr long kBufferSize = 256 * 1024;
constexpr auto kReportEvery = std::chrono::milliseconds(100);

struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  uint64_t offset = 0;   ///< bytes in the file when this attempt began
  uint64_t written = 0;  ///< bytes this attempt wrote
  int write_errno = 0;
  const DownloadOptions* opts = nullptr;
  DownloadProgress progress;
  Clock::time_point start;
  Clock::time_point last_report;

  long status() const {
    long code = 0;
    curl_api().curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;  // 0 for file://
  }
};

size_t on_write(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const size_t len = size * n;
  // An error page is not the artifact: drop it, the status says what happened.
  if (t->status() >= 400) return len;
  size_t off = 0;
  while (off < len) {
    ssize_t w = ::write(t->fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      t->write_errno = errno;
      return 0;  // CURLE_WRITE_ERROR
    }
    off += static_cast<size_t>(w);
  }
  t->written += len;
  return len;
}

int on_progress(void* p, curl_off_t dltotal, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(p);
  if (!t->opts->progress || t->status() >= 400) return 0;
  auto now = Clock::now();
  if (now - t->last_report < kReportEvery) return 0;
  t->last_report = now;
  t->progress.done = t->offset + t->written;
  if (dltotal > 0) t->progress.total = t->offset + static_cast<uint64_t>(dltotal);
  t->progress.seconds = std::chrono::duration<double>(now - t->start).count();
  t->opts->progress(t->progress);
  return 0;
}

uint64_t file_size(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

// Worth another attempt: the network or the server may do better later.
bool transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool transient_status(long code) { return code == 408 || code == 429 || code >= 500; }

std::string status_text(long code) {
  switch (code) {
    case 401: return "HTTP 401 Unauthorized";
    case 403: return "HTTP 403 Forbidden";
    case 404: return "HTTP 404 Not Found";
    case 410: return "HTTP 410 Gone";
    case 429: return "HTTP 429 Too Many Requests";
    case 500: return "HTTP 500 Internal Server Error";
    case 502: return "HTTP 502 Bad Gateway";
    case 503: return "HTTP 503 Service Unavailable";
    case 504: return "HTTP 504 Gateway Timeout";
    default: return "HTTP " + std::to_string(code);
  }
}

void truncate_to_zero(int fd, const std::string& path) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
    throw HostError::from_errno("truncating " + path, errno);
}

}  // namespace

DownloadResult download_to_file(const std::string& label, const std::string& url,
                                const std::string& path, const DownloadOptions& opts) {
  const std::string who = label + ": downloading " + url;

  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) throw HostError(who + ": " + errno_message("opening " + path, errno));
  std::unique_ptr<CURL, decltype(CurlLib::curl_easy_cleanup)> curl(curl_api().curl_easy_init(),
                                                                   curl_api().curl_easy_cleanup);
  if (!curl) throw HostError(who + ": libcurl could not create a handle (out of memory?)");

  DownloadResult result;
  result.resumed_from = file_size(fd.get());
  Transfer t;
  t.curl = curl.get();
  t.fd = fd.get();
  t.opts = &opts;
  t.progress.label = label;
  t.progress.resumed_from = result.resumed_from;
  t.start = Clock::now();
  bool restarted = false;  // a server that ignores Range gets one fresh start
  bool done = false;
  std::string last_error;

  for (int attempt = 1; attempt <= 1 + opts.retries; ++attempt) {
    if (attempt > 1) {
      std::this_thread::sleep_for(opts.backoff * (1 << (attempt - 2)));
    }
    result.attempts = attempt;
    t.offset = file_size(fd.get());
    t.written = 0;
    t.write_errno = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL* c = curl.get();
    curl_api().curl_easy_reset(c);
    curl_api().curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_api().curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_api().curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_api().curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_api().curl_easy_setopt(c, CURLOPT_MAXREDIRS, opts.max_redirects);
    curl_api().curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
    curl_api().curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(opts.connect_timeout.count()));
    curl_api().curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, opts.stall_bytes_per_second);
    curl_api().curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts.stall_time.count()));
    curl_api().curl_easy_setopt(c, CURLOPT_BUFFERSIZE, kBufferSize);
    curl_api().curl_easy_setopt(c, CURLOPT_USERAGENT, "banger");
    curl_api().curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_api().curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_api().curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_api().curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_api().curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_api().curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    if (t.offset > 0)
      curl_api().curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(t.offset));
    std::unique_ptr<curl_slist, decltype(CurlLib::curl_slist_free_all)> headers(nullptr, curl_api().curl_slist_free_all);
    for (const std::string& h : opts.headers) headers.reset(curl_api().curl_slist_append(headers.release(), h.c_str()));
    if (headers) curl_api().curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_api().curl_easy_perform(c);
    long code = t.status();
    if (t.write_errno != 0) {
      // Not the network's fault: retrying would fail the same way.
      std::string hint = t.write_errno == ENOSPC || t.write_errno == EDQUOT
                             ? " (free space in the state dir, or move it with --state-dir)"
                             : "";
      throw DownloadWriteError(who + ": " + errno_message("writing " + path, t.write_errno) + hint);
    }
    if (rc == CURLE_RANGE_ERROR && !restarted) {
      // 200 to a Range request: the server sends the whole file again.
      restarted = true;
      truncate_to_zero(fd.get(), path);
      --attempt;
      continue;
    }
    if (rc == CURLE_OK && code == 416 && t.offset > 0) {
      done = true;  // the file was complete already; the caller's hash check decides
      break;
    }
    if (rc == CURLE_OK && code >= 400) {
      last_error = "the server answered " + status_text(code);
      if (transient_status(code)) continue;
      throw HostError(who + ": " + last_error + " (" + opts.check_hint + ")", ErrorCode::NotFound);
    }
    if (rc == CURLE_OK) {
      done = true;
      break;
    }
    last_error = errbuf[0] ? std::string(errbuf) : curl_api().curl_easy_strerror(rc);
    if (!transient(rc)) throw HostError(who + ": " + last_error, ErrorCode::Invalid);
  }
  if (!done) {
    const uint64_t have = file_size(fd.get());
    throw HostError(who + ": " + last_error + " (gave up after " + std::to_string(result.attempts) + " attempts" +
                    (have > 0 ? "; the next apply resumes from byte " + std::to_string(have) : "") + ")",
                    ErrorCode::Io);
  }
  result.bytes = file_size(fd.get());
  result.seconds = std::chrono::duration<double>(Clock::now() - t.start).count();
  if (opts.progress) {
    t.progress.done = result.bytes;
    t.progress.total = result.bytes;
    t.progress.seconds = result.seconds;
    t.progress.finished = true;
    opts.progress(t.progress);
  }
  return result;
}

}  // namespace banger
