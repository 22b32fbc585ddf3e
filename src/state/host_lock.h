// The host lock: one apply, delete or gc at a time per state dir.
#pragma once

#include <functional>
#include <string>

namespace banger {

/// flock on STATE_DIR/lock so two apply/delete runs never interleave.
class HostLock {
 public:
  /// wait=false: throws HostError at once when another run holds it.
  /// wait=true: calls on_wait once (to say "waiting for ...") then blocks.
  HostLock(const std::string& state_dir, bool wait, const std::function<void()>& on_wait = {});
  ~HostLock();
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace banger
