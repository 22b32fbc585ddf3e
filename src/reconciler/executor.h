// Runs a plan's actions on a small worker pool, each as soon as what it
// depends on has finished. A failed action fails the actions that need it
// (they are skipped, naming the cause); everything else goes on.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/host_error.h"
#include "reconciler/action_outcome.h"
#include "reconciler/plan.h"

namespace banger {

enum class Outcome { Succeeded, Failed, Skipped, Cancelled };
const char* to_string(Outcome o);

struct ActionReport {
  int action = 0;
  Outcome outcome = Outcome::Skipped;
  std::string message;  ///< Failed, Skipped, Cancelled: why
  double seconds = 0;
  /// Failed: what kind of failure (HostError's code; Unknown for others).
  ErrorCode code = ErrorCode::Unknown;
  ActionOutcome done;  ///< Succeeded: what it did (the CLI words it)
};

struct ExecutionReport {
  std::vector<ActionReport> actions;  ///< in order of completion
  bool ok() const;
  size_t count(Outcome o) const;
  /// Some failed action may succeed if tried again as it is (retryable code).
  bool retryable_failure() const;
};

/// Does one action; returns what it did, throws on failure.
using ActionRunner = std::function<ActionOutcome(const Action&)>;
/// Called (serialized) when an action starts (done=false) and when it ends.
using ProgressFn = std::function<void(const Action&, const ActionReport*)>;

/// `stop` set (e.g. by SIGINT): no new action starts; those running finish.
ExecutionReport execute(const Plan& plan, const ActionRunner& run, int workers,
                        const std::atomic<bool>& stop, const ProgressFn& progress = {});

}  // namespace banger
