// When `banger watch` reconciles next, and why. Pure: the loop in watcher.cc
// feeds it what happened (file events, a VM exit, SIGHUP, the outcome of a
// reconcile) with the time, and asks what is due and how long it may sleep.
//
// Rules:
// - File events are debounced (see debounce.h). While a burst is settling,
//   nothing else runs either: a reconcile for another reason would read the
//   half-written tree just the same.
// - A VM exit, SIGHUP or the start run at once (after any burst settles).
// - A resync comes `resync` after the last reconcile, whatever happened.
// - A reconcile that failed is retried after a back-off: 1 s doubling up to
//   `resync`, reset by a success. The plan's own retry_at (restart back-off
//   of a VM) wakes the loop too. A retry never comes sooner than `min_gap`
//   after the last reconcile, so a retry time in the past cannot spin.
#pragma once

#include <chrono>
#include <optional>

#include "reconciler/debounce.h"

namespace banger {

enum class WatchTrigger { None, Start, Files, VmExit, Signal, Retry, Resync, Commit };
/// "start", "files changed", "VM exited", "SIGHUP", "retry", "resync", "new commit" (for logs).
const char* to_string(WatchTrigger t);

struct WatchScheduleOptions {
  std::chrono::steady_clock::duration debounce = std::chrono::milliseconds(200);
  /// A burst that never pauses is still applied this long after it began.
  std::chrono::steady_clock::duration max_delay = std::chrono::seconds(2);
  std::chrono::steady_clock::duration resync = std::chrono::seconds(30);
  std::chrono::steady_clock::duration first_retry = std::chrono::seconds(1);
  std::chrono::steady_clock::duration min_gap = std::chrono::milliseconds(50);
};

class WatchSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WatchSchedule(WatchScheduleOptions opts);

  void files_changed(Clock::time_point now);
  /// Start, VmExit, Signal or Commit: reconcile as soon as no burst is settling.
  void request(WatchTrigger t);
  /// A reconcile finished at `now` (it read the tree after every event noted
  /// so far). `ok` false: retry after the back-off. `retry_at`: something in
  /// the plan wants another look then (a VM held back by restart back-off).
  void reconciled(Clock::time_point now, bool ok, std::optional<Clock::time_point> retry_at);

  /// What should run now; None to wait.
  WatchTrigger due(Clock::time_point now) const;
  /// The earliest time something becomes due (nullopt: only an event can
  /// wake the loop). Sleep until then.
  std::optional<Clock::time_point> next_wake() const;
  /// Consecutive failed reconciles (0 after a success).
  int failures() const { return failures_; }

 private:
  WatchScheduleOptions opts_;
  Debouncer files_;
  WatchTrigger requested_ = WatchTrigger::None;
  std::optional<Clock::time_point> retry_at_;
  std::optional<Clock::time_point> resync_at_;
  int failures_ = 0;
};

}  // namespace banger
