// The two things the double writes besides HTTP answers: Firecracker-style
// log lines (stdout or --log-path / PUT /logger), and the request record that
// tests read to see exactly what a client asked for.
#pragma once

#include <optional>
#include <string>

#include "body_schema.h"

namespace fakefc {

enum class Level { kOff = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4, kTrace = 5 };

// LevelFilter::from_str: case-insensitive, "warn" and "warning" both accepted.
std::optional<Level> parse_level(const std::string& text);

// Writes "<local time> [<id>:<thread><:LEVEL><:origin>] <message>" lines like
// Firecracker's logger, to stdout until a log file is configured.
class Logger {
 public:
  explicit Logger(std::string instance_id) : id_(std::move(instance_id)) {}
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Logger::update: every given field replaces the current one. The file is
  // opened like open_file_nonblock (O_RDWR|O_CREAT|O_NONBLOCK, so a FIFO
  // without a reader does not block). Returns the error text on failure.
  std::optional<std::string> update(const std::optional<std::string>& path,
                                    std::optional<Level> level, std::optional<bool> show_level,
                                    std::optional<bool> show_origin);

  void log(Level level, const std::string& thread, const std::string& message);
  void error(const std::string& m) { log(Level::kError, "main", m); }
  void warn(const std::string& m) { log(Level::kWarn, "main", m); }
  void info(const std::string& m) { log(Level::kInfo, "main", m); }

 private:
  std::string id_;
  int fd_ = -1;  // -1: stdout
  Level level_ = Level::kInfo;
  bool show_level_ = false;
  bool show_origin_ = false;
};

// One JSON object per line: {"method","path","body","status"}; written and
// flushed (with write(2), no user-space buffer) before the answer is sent, so
// a client that got its answer always finds the line already there.
class Recorder {
 public:
  Recorder() = default;
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  std::optional<std::string> open(const std::string& path);
  void record(const std::string& method, const std::string& path, const Json& body, int status);

 private:
  int fd_ = -1;
};

// strerror text plus Rust's " (os error N)" suffix, as io::Error displays it.
std::string os_error(int err);

}  // namespace fakefc
