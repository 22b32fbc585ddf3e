// Download progress for a person: on a terminal, one line redrawn in place
// (bar, bytes, rate, ETA) at most 10 times a second; elsewhere (a CI log, a
// pipe) only one line per finished download. The text is built by pure
// functions, tested apart from the terminal.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

#include "drivers/download.h"

namespace banger {

/// "12.0 MiB", "512 B", "1.5 GiB".
std::string human_bytes(double bytes);
/// "7s", "2m05s", "1h02m"; "?" when unknown (negative).
std::string human_eta(double seconds);
/// Bytes per second of this run (resumed bytes are not counted), 0 at the start.
double download_rate(const DownloadProgress& p);
/// "Image/web  [#######-------------]  45.2 MiB / 128.0 MiB  35%  12.3 MiB/s  ETA 7s";
/// without a known total: "Image/web  45.2 MiB  12.3 MiB/s".
std::string progress_line(const DownloadProgress& p);
/// "Downloaded Image/web: 123.4 MiB in 3.2 s (38.6 MiB/s) sha256:9f86d081884c…".
std::string finished_line(const DownloadProgress& p);

class DownloadRenderer {
 public:
  /// `tty`: redraw a progress line in place; else print finished lines only.
  DownloadRenderer(std::ostream& out, bool tty);
  /// Thread-safe; for DownloadOptions::progress.
  void report(const DownloadProgress& p);
  /// Clears the progress line so that another writer to the same terminal
  /// (apply's per-action lines on stdout) starts on a clean line; the next
  /// report redraws it, no sooner than 100 ms later. Thread-safe.
  void clear();

 private:
  void clear_line();
  void draw();

  std::mutex mu_;
  std::ostream& out_;
  bool tty_;
  std::map<std::string, DownloadProgress> active_;  ///< by label
  std::chrono::steady_clock::time_point last_draw_{};
  size_t drawn_width_ = 0;  ///< characters of the line on screen, 0 = none
};

}  // namespace banger
