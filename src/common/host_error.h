// Errors from code that touches the host. The message says what failed and
// what to do, never a bare errno: it is shown to the user as is. The code
// says what kind of failure it is, so that the watcher can tell "try again
// soon" from "nothing changes until someone acts" (docs/errors.md).
#pragma once

#include <stdexcept>
#include <string>

namespace banger {

enum class ErrorCode {
  Unknown,     ///< not classified; treated as retryable, as every error was before codes
  NotFound,    ///< a file, binary, device or URL that is needed is not there
  Conflict,    ///< a name, address or device is taken by something banger does not own
  Busy,        ///< held by someone else right now (EBUSY, EAGAIN, another run's lock)
  Permission,  ///< EACCES, EPERM
  Invalid,     ///< cannot work as asked: a bad value, a hash mismatch, what this host cannot do
  Exhausted,   ///< out of space, memory, addresses or descriptors
  Io,          ///< the host or the network failed while doing it (EIO, a timeout, HTTP 5xx)
};

/// "not-found", "conflict", ... (logs and JSON).
const char* to_string(ErrorCode c);
/// Worth trying again without anyone acting: Unknown, Busy and Io.
bool retryable(ErrorCode c);
/// The code of an errno value (ENOENT -> NotFound, EEXIST -> Conflict, ...).
ErrorCode code_of_errno(int err);

class HostError : public std::runtime_error {
 public:
  explicit HostError(const std::string& message, ErrorCode code = ErrorCode::Unknown)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  /// errno_message(what, err), with the code of err.
  static HostError from_errno(const std::string& what, int err);

 private:
  ErrorCode code_;
};

/// "what: strerror(err)" for a failed syscall, e.g. errno_message("open /dev/net/tun", errno).
std::string errno_message(const std::string& what, int err);

}  // namespace banger
