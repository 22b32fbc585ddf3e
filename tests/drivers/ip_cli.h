// Tests set links up and inspect them with iproute2's `ip` (product code
// never does): a runner that throws on failure, and a guard that deletes the
// links a test made, also when it fails half-way.
#pragma once

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "run_command.h"

namespace banger::test {

inline std::string ip_bin() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  throw std::runtime_error("iproute2's ip not found; the test needs it to set up links");
}

inline CommandResult ip_try(std::vector<std::string> args) {
  args.insert(args.begin(), ip_bin());
  return run_command(args);
}

inline std::string ip(const std::vector<std::string>& args) {
  CommandResult r = ip_try(args);
  if (r.exit_code != 0) {
    std::string cmd = "ip";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(cmd + " failed: " + r.err);
  }
  return r.out;
}

struct LinkGuard {
  std::vector<std::string> names;
  ~LinkGuard() {
    for (const auto& n : names) ip_try({"link", "del", n});
  }
};

}  // namespace banger::test
