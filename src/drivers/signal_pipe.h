// SIGTERM, SIGINT and SIGHUP for a long-running loop: the handler only sets a
// flag and writes a byte to a pipe, so poll() wakes up, and the flag can be
// handed to the executor as its stop flag (start nothing new) while a
// reconcile is running on this thread.
//
// Not signalfd: that needs the signals blocked, and then nothing would set
// the stop flag while the loop is busy executing a plan.
#pragma once

#include <atomic>

#include "common/unique_fd.h"

namespace banger {

class SignalPipe {
 public:
  /// Installs the handlers (SA_RESTART, so driver calls do not see EINTR).
  /// SIGINT goes back to the default after its first delivery, so a second
  /// Ctrl-C at a terminal ends the process at once. One instance at a time.
  SignalPipe();
  /// Restores the previous handlers.
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  /// Read end (non-blocking) to poll for POLLIN.
  int fd() const { return read_.get(); }
  /// Empties the pipe after poll() reported it readable.
  void drain();
  /// SIGTERM or SIGINT arrived: finish what is under way, then exit.
  const std::atomic<bool>& stop() const;
  /// SIGHUP arrived since the last call.
  bool take_hangup();

 private:
  UniqueFd read_;
  UniqueFd write_;
};

}  // namespace banger
