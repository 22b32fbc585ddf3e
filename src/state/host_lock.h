// The host lock: one apply, delete or gc at a time per state dir.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace banger {

struct HostLockOptions {
  bool wait = true;  ///< false: throw HostError(Busy) at once when another run holds it
  /// How long to wait; zero waits as long as it takes.
  std::chrono::milliseconds timeout{0};
  /// What this run is ("banger apply"): written into the lock file for a
  /// waiting run to show.
  std::string command = "banger";
  /// Called once when the lock is held by another run, with who holds it:
  /// "pid 4242 (banger apply, started 3 s ago)".
  std::function<void(const std::string& holder)> on_wait;
};

/// flock on STATE_DIR/lock so two apply/delete runs never interleave. The
/// holder writes its pid, command and start time into the file.
class HostLock {
 public:
  HostLock(const std::string& state_dir, const HostLockOptions& opts);
  ~HostLock();
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;

  /// "pid 4242 (banger apply, started 3 s ago)" from the lock file's text;
  /// "another banger run" when it says nothing usable. Pure but for the clock.
  static std::string describe_holder(const std::string& lock_file_text);

 private:
  int fd_ = -1;
};

}  // namespace banger
