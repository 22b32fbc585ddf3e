// restartPolicy and its back-off, as kubelet does it for containers: a VM
// whose process ended on its own is restarted (always; on-failure only after
// an unclean exit; never not at all), each restart in a row waiting twice as
// long (1 s doubling to 5 min), the count reset by 10 min up. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "drivers/process.h"
#include "reconciler/observed_state.h"
#include "state/store.h"

namespace banger {

constexpr int64_t kBackoffFirstMs = 1000;
constexpr int64_t kBackoffMaxMs = 5 * 60 * 1000;
constexpr int64_t kBackoffResetAfterMs = 10 * 60 * 1000;

/// The wait before restart number `consecutive` + 1 in a row.
int64_t backoff_ms(int64_t consecutive);

struct RestartDecision {
  enum class Kind {
    NotExited,  ///< running, or no process was ever recorded: nothing to decide
    Restart,    ///< start it now
    Wait,       ///< start it at `at_ms` (back-off)
    Stay,       ///< leave it down (policy)
  };
  Kind kind = Kind::NotExited;
  int64_t at_ms = 0;
  std::string exit;    ///< how it ended: "exited 1", "killed by signal 9", "unknown"
  std::string reason;  ///< for the plan and `get`
};

/// `policy`: "always", "on-failure" or "never". `rt`: the recorded process
/// (null: none recorded); `exit`: what its reaper wrote, if anything.
RestartDecision decide_restart(const std::string& policy, const VmRuntime* rt, bool running,
                               const std::optional<ExitStatus>& exit, const RestartRecord* rec,
                               int64_t now_ms);

/// decide_restart for VM `name` from what one observe saw (its recorded
/// process, whether it runs, its exit and restart history). Pure.
RestartDecision decide_restart(const std::string& policy, const std::string& name, const ObservedState& o);

/// The record after restarting a VM whose process ended (`rt`, `exit`).
RestartRecord next_restart_record(const std::string& vm, const RestartRecord* prev, const VmRuntime& rt,
                                  const std::optional<ExitStatus>& exit, int64_t now_ms);

}  // namespace banger
