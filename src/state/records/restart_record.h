#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// Restarts of a VM whose process ended on its own (restartPolicy).
struct RestartRecord {
  std::string name;
  int64_t restarts = 0;     ///< all restarts, for `get`
  int64_t consecutive = 0;  ///< in a row without 10 min up: sets the back-off
  std::string last_exit;    ///< "exited 1", "killed by signal 9", "unknown"
  int64_t last_exit_at = 0; ///< unix ms

  static constexpr const char* kTable = "vm_restarts";
  static constexpr auto columns() {
    return std::tuple{column("name", "name", &RestartRecord::name),
                      column("restarts", "restarts", &RestartRecord::restarts),
                      column("consecutive", "consecutive", &RestartRecord::consecutive),
                      column("last_exit", "lastExit", &RestartRecord::last_exit),
                      column("last_exit_at", "lastExitAt", &RestartRecord::last_exit_at)};
  }
};

}  // namespace banger
