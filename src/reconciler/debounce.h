// Coalesces bursts of file events into one reconcile. Pure: time comes in as
// an argument, so tests drive it without a filesystem or a clock.
//
// A `git checkout` or `git pull` rewrites many files within milliseconds; an
// editor saves through a temp file and a rename. Reading the tree in the
// middle of that could see half of a change (a file removed before its
// replacement is written, which would prune what is only moving), so the
// reconcile waits until the tree has been quiet for `quiet`, but never longer
// than `max_delay` after the first event, so that a file rewritten without
// pause still gets applied.
#pragma once

#include <chrono>
#include <optional>

namespace banger {

class Debouncer {
 public:
  using Clock = std::chrono::steady_clock;

  /// `max_delay` shorter than `quiet` is raised to `quiet`.
  Debouncer(Clock::duration quiet, Clock::duration max_delay);

  /// An event arrived at `now`.
  void note(Clock::time_point now);
  /// Events are waiting (due or not).
  bool pending() const { return first_.has_value(); }
  /// When the waiting events should be acted on; nullopt when none wait.
  std::optional<Clock::time_point> deadline() const;
  /// pending() and deadline() <= now.
  bool due(Clock::time_point now) const;
  /// The events were acted on (the tree was read after all of them).
  void clear();

 private:
  Clock::duration quiet_;
  Clock::duration max_delay_;
  std::optional<Clock::time_point> first_;
  Clock::time_point last_{};
};

}  // namespace banger
