// What apply says about readiness after it changed VMs: one quick check by
// default, or (--wait) a wait until every VM it touched is ready.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reconciler/executor.h"
#include "reconciler/plan.h"
#include "state/store.h"

namespace banger::cli {

/// VMs whose EnsureVm action succeeded: created, restarted, replaced or repaired.
std::vector<std::string> touched_vms(const Plan& plan, const ExecutionReport& report);

struct ReadinessOptions {
  bool wait = false;   ///< --wait: probe until ready or timed out
  bool human = true;   ///< print lines (else only `json`)
  bool quiet = false;
};

/// Reports (and with wait, waits for) readiness of `vms`; returns the exit
/// code: 1 when waiting and a VM did not become ready. Fills `json` with one
/// entry per VM.
int report_readiness(Store& store, const std::vector<std::string>& vms, const ReadinessOptions& o,
                     const std::atomic<bool>& stop, nlohmann::ordered_json& json);

}  // namespace banger::cli
