// Readiness: is a running VM's guest serving yet? A VM with a probe
// (spec.readiness tcp/http) is ready when the probe passes from the host to
// the guest's IP; one without is ready while its process runs. `apply --wait`
// waits for the VMs it touched, `get` checks once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "drivers/process.h"
#include "drivers/probe.h"
#include "reconciler/observed_state.h"
#include "resources/model.h"
#include "state/store.h"

namespace banger {

struct ReadyTarget {
  std::string vm;
  Readiness readiness;                      ///< probe None = process only
  std::optional<ProbeTarget> probe;         ///< set when readiness.probe != None
  std::optional<ProcessIdentity> process;   ///< nullopt: no recorded process
  std::string log_path;                     ///< console, for the tail on failure
  /// The caller has just seen the process running (get, right after its
  /// observe): check_ready does not read /proc for it again.
  bool seen_running = false;
};

/// The target for one applied VM from its records (null when absent).
ReadyTarget ready_target(const ResourceRecord& vm, const VmRecord* rec, const VmRuntime* rt);
/// Targets for the named VMs, read from the store as it is now; VMs whose
/// spec says `state: stopped` are left out (nothing to wait for).
std::vector<ReadyTarget> ready_targets(Store& store, const std::vector<std::string>& vms);

struct ReadyStatus {
  bool ready = false;
  std::string detail;  ///< "HTTP 200", "connection refused", "process not running"
};

/// One round for all targets at once (what `get` shows), bounded by `timeout`.
std::vector<ReadyStatus> check_ready(const std::vector<ReadyTarget>& targets,
                                     std::chrono::milliseconds timeout);

struct WaitOutcome {
  std::string vm;
  bool ready = false;
  double seconds = 0;       ///< from the start of the wait
  std::string detail;       ///< what passed, or why it failed
  std::string console_tail; ///< last console lines, on failure
};

/// Called with one line of progress ("VM/web: ready ...", "waiting ...").
using WaitProgressFn = std::function<void(const WaitOutcome* done, const std::string& line)>;

/// Probes until every target is ready or past its own timeout (a VM whose
/// process exits fails at once). `stop` ends the wait early (not ready).
std::vector<WaitOutcome> wait_ready(const std::vector<ReadyTarget>& targets, const std::atomic<bool>& stop,
                                    const WaitProgressFn& progress);

}  // namespace banger
