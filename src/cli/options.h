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
  std::string node_name;    // env BANGER_NODE_NAME; "" = the hostname (cli/node_flags.h)
  std::string node_labels;  // env BANGER_NODE_LABELS; "k=v,k2=v2"
};

/// Exit codes, as kubectl diff and terraform plan -detailed-exitcode use them.
enum ExitCode : int { kExitOk = 0, kExitError = 1, kExitChanges = 2 };

}  // namespace banger::cli
