// Flags every command shares (DESIGN.md section 6).
#pragma once

#include <string>

namespace banger::cli {

struct GlobalOptions {
  std::string state_dir = "/var/lib/banger";  // env BANGER_STATE_DIR
  std::string run_dir = "/run/banger";        // env BANGER_RUN_DIR
  std::string log_level = "warn";
  bool quiet = false;
  bool verbose = false;
};

/// Exit codes, as kubectl diff and terraform plan -detailed-exitcode use them.
enum ExitCode : int { kExitOk = 0, kExitError = 1, kExitChanges = 2 };

}  // namespace banger::cli
