// Errors from code that touches the host. The message says what failed and
// what to do, never a bare errno: it is shown to the user as is.
#pragma once

#include <stdexcept>
#include <string>

namespace banger {

class HostError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "what: strerror(err)" for a failed syscall, e.g. errno_message("open /dev/net/tun", errno).
std::string errno_message(const std::string& what, int err);

}  // namespace banger
