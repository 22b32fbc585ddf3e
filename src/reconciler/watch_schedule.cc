#include "reconciler/watch_schedule.h"

#include <algorithm>

namespace banger {

const char* to_string(WatchTrigger t) {
  switch (t) {
    case WatchTrigger::None: return "none";
    case WatchTrigger::Start: return "start";
    case WatchTrigger::Files: return "files changed";
    case WatchTrigger::VmExit: return "VM exited";
    case WatchTrigger::Signal: return "SIGHUP";
    case WatchTrigger::Retry: return "retry";
    case WatchTrigger::Resync: return "resync";
    case WatchTrigger::Commit: return "new commit";
  }
  return "?";
}

WatchSchedule::WatchSchedule(WatchScheduleOptions opts)
    : opts_(opts), files_(opts.debounce, opts.max_delay) {}

void WatchSchedule::files_changed(Clock::time_point now) { files_.note(now); }

void WatchSchedule::request(WatchTrigger t) {
  // Start outranks the others; any of them means "now".
  if (requested_ == WatchTrigger::None || t == WatchTrigger::Start) requested_ = t;
}

void WatchSchedule::reconciled(Clock::time_point now, bool ok, std::optional<Clock::time_point> retry_at) {
  files_.clear();
  requested_ = WatchTrigger::None;
  resync_at_ = now + opts_.resync;
  retry_at_.reset();
  if (ok) {
    failures_ = 0;
  } else {
    ++failures_;
    auto backoff = opts_.first_retry;
    for (int i = 1; i < failures_ && backoff < opts_.resync; ++i) backoff *= 2;
    retry_at_ = now + std::min(backoff, opts_.resync);
  }
  if (retry_at) retry_at_ = retry_at_ ? std::min(*retry_at_, *retry_at) : *retry_at;
  if (retry_at_) retry_at_ = std::max(*retry_at_, now + opts_.min_gap);
}

WatchTrigger WatchSchedule::due(Clock::time_point now) const {
  if (files_.pending()) {
    if (!files_.due(now)) return WatchTrigger::None;
    return requested_ != WatchTrigger::None ? requested_ : WatchTrigger::Files;
  }
  if (requested_ != WatchTrigger::None) return requested_;
  if (retry_at_ && *retry_at_ <= now) return WatchTrigger::Retry;
  if (resync_at_ && *resync_at_ <= now) return WatchTrigger::Resync;
  return WatchTrigger::None;
}

std::optional<WatchSchedule::Clock::time_point> WatchSchedule::next_wake() const {
  if (files_.pending()) return files_.deadline();
  if (requested_ != WatchTrigger::None) return Clock::time_point::min();
  std::optional<Clock::time_point> out = resync_at_;
  if (retry_at_) out = out ? std::min(*out, *retry_at_) : *retry_at_;
  return out;
}

}  // namespace banger
