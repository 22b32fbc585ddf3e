#include "drivers/download_progress.h"

#include <cstdio>

namespace banger {

namespace {
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr int kBarWidth = 20;
}  // namespace

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  }
  return buf;
}

std::string human_eta(double seconds) {
  if (seconds < 0) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

double download_rate(const DownloadProgress& p) {
  if (p.seconds <= 0 || p.done < p.resumed_from) return 0;
  return static_cast<double>(p.done - p.resumed_from) / p.seconds;
}

std::string progress_line(const DownloadProgress& p) {
  double rate = download_rate(p);
  std::string line = p.label + "  ";
  if (p.total == 0) return line + human_bytes(static_cast<double>(p.done)) + "  " + human_bytes(rate) + "/s";
  double frac = p.done >= p.total ? 1.0 : static_cast<double>(p.done) / static_cast<double>(p.total);
  int filled = static_cast<int>(frac * kBarWidth);
  line += "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kBarWidth - filled), '-') + "]  ";
  line += human_bytes(static_cast<double>(p.done)) + " / " + human_bytes(static_cast<double>(p.total));
  char pct[16];
  std::snprintf(pct, sizeof pct, "  %d%%  ", static_cast<int>(frac * 100));
  line += pct + human_bytes(rate) + "/s  ETA " +
          human_eta(rate > 0 ? static_cast<double>(p.total - std::min(p.done, p.total)) / rate : -1);
  return line;
}

std::string finished_line(const DownloadProgress& p) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", p.seconds);
  std::string line = "Downloaded " + p.label + ": " + human_bytes(static_cast<double>(p.done)) + " in " + secs +
                     " (" + human_bytes(download_rate(p)) + "/s)";
  if (p.resumed_from > 0) line += ", resumed at " + human_bytes(static_cast<double>(p.resumed_from));
  if (!p.sha256.empty()) line += " sha256:" + p.sha256.substr(0, 12) + "…";
  return line;
}

DownloadRenderer::DownloadRenderer(std::ostream& out, bool tty) : out_(out), tty_(tty) {}

void DownloadRenderer::clear_line() {
  if (drawn_width_ == 0) return;
  out_ << "\r\033[K";
  drawn_width_ = 0;
}

void DownloadRenderer::draw() {
  if (active_.empty()) return;
  // Several downloads at once share the line: the first, and how many more.
  std::string line = progress_line(active_.begin()->second);
  if (active_.size() > 1) line += "  (+" + std::to_string(active_.size() - 1) + " more)";
  out_ << "\r\033[K" << line << std::flush;
  drawn_width_ = line.size();
  last_draw_ = std::chrono::steady_clock::now();
}

void DownloadRenderer::clear() {
  std::lock_guard lock(mu_);
  if (drawn_width_ == 0) return;
  clear_line();
  out_ << std::flush;
  last_draw_ = std::chrono::steady_clock::now();
}

void DownloadRenderer::report(const DownloadProgress& p) {
  std::lock_guard lock(mu_);
  if (p.finished || p.failed) {
    active_.erase(p.label);
    if (tty_) clear_line();
    if (p.finished) out_ << finished_line(p) << "\n" << std::flush;
    if (tty_) draw();
    return;
  }
  if (!tty_ || (p.done == 0 && p.total == 0)) return;  // nothing to show before the headers
  active_[p.label] = p;
  if (std::chrono::steady_clock::now() - last_draw_ >= kRedrawEvery) draw();
}

}  // namespace banger
