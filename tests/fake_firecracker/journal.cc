#include "journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace fakefc {
namespace {

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    // A full FIFO loses the line, as Firecracker's non-blocking logger does.
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

const char* level_name(Level l) {
  switch (l) {
    case Level::kError: return "ERROR";
    case Level::kWarn: return "WARN";
    case Level::kInfo: return "INFO";
    case Level::kDebug: return "DEBUG";
    case Level::kTrace: return "TRACE";
    default: return "OFF";
  }
}

// utils::time::LocalTime: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn" in local time.
std::string local_time() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  localtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

}  // namespace

std::string os_error(int err) {
  return std::string(std::strerror(err)) + " (os error " + std::to_string(err) + ")";
}

std::optional<Level> parse_level(const std::string& text) {
  std::string s = text;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "off") return Level::kOff;
  if (s == "error") return Level::kError;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "info") return Level::kInfo;
  if (s == "debug") return Level::kDebug;
  if (s == "trace") return Level::kTrace;
  return std::nullopt;
}

Logger::~Logger() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> Logger::update(const std::optional<std::string>& path,
                                          std::optional<Level> level,
                                          std::optional<bool> show_level,
                                          std::optional<bool> show_origin) {
  if (path) {
    int fd = ::open(path->c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) return "Failed to open target file: " + os_error(errno);
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    // Appending keeps earlier lines when the same file is reused across runs.
    ::lseek(fd_, 0, SEEK_END);
  }
  // Like Logger::update, an absent level resets to the default (Info).
  level_ = level.value_or(Level::kInfo);
  if (show_level) show_level_ = *show_level;
  if (show_origin) show_origin_ = *show_origin;
  return std::nullopt;
}

void Logger::log(Level level, const std::string& thread, const std::string& message) {
  if (level == Level::kOff || static_cast<int>(level) > static_cast<int>(level_)) return;
  std::string prefix = id_ + ":" + thread;
  if (show_level_) prefix += std::string(":") + level_name(level);
  if (show_origin_) prefix += ":fake_firecracker:0";
  write_all(fd_ >= 0 ? fd_ : STDOUT_FILENO, local_time() + " [" + prefix + "] " + message + "\n");
}

Recorder::~Recorder() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> Recorder::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return "cannot open request record " + path + ": " + os_error(errno);
  return std::nullopt;
}

void Recorder::record(const std::string& method, const std::string& path, const Json& body,
                      int status) {
  if (fd_ < 0) return;
  Json line = Json::object();
  line["method"] = method;
  line["path"] = path;
  line["body"] = body;
  line["status"] = status;
  // One write(2) per line with O_APPEND: whole lines even if a reader races us.
  write_all(fd_, line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace fakefc
