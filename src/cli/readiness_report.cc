#include "cli/readiness_report.h"

#include <iostream>

#include <algorithm>

#include "cli/options.h"
#include "reconciler/readiness.h"

namespace banger::cli {

namespace {

// Without --wait apply checks once, briefly: enough to say "ready" for a VM
// that was already serving (a repaired forward, an in-place update) without
// making every apply pay for a boot.
constexpr std::chrono::milliseconds kQuickCheck{500};

}  // namespace

std::vector<std::string> touched_vms(const Plan& plan, const ExecutionReport& report) {
  std::vector<std::string> out;
  for (const ActionReport& r : report.actions) {
    const Action& a = plan.actions[static_cast<size_t>(r.action)];
    if (a.type == ActionType::EnsureVm && r.outcome == Outcome::Succeeded) out.push_back(a.key.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int report_readiness(Store& store, const std::vector<std::string>& vms, const ReadinessOptions& o,
                     const std::atomic<bool>& stop, nlohmann::ordered_json& json) {
  json = nlohmann::ordered_json::array();
  std::vector<ReadyTarget> targets = ready_targets(store, vms);
  if (targets.empty()) return kExitOk;
  bool say = o.human && !o.quiet;

  if (!o.wait) {
    auto status = check_ready(targets, kQuickCheck);
    for (size_t i = 0; i < targets.size(); ++i) {
      const ReadyTarget& t = targets[i];
      json.push_back({{"vm", t.vm}, {"ready", status[i].ready}, {"detail", status[i].detail}});
      if (!say || !t.probe) continue;  // no probe: "running" already said it
      std::cout << "VM/" << t.vm << ": "
                << (status[i].ready ? "ready (" + describe(*t.probe) + ": " + status[i].detail + ")"
                                    : "not ready yet (" + describe(*t.probe) + ": " + status[i].detail +
                                          "); `banger apply --wait` waits for it")
                << "\n";
    }
    return kExitOk;
  }

  if (say) std::cout << "\nWaiting for " << targets.size() << " VM" << (targets.size() == 1 ? "" : "s")
                     << " to be ready...\n" << std::flush;
  auto outcomes = wait_ready(targets, stop, [&](const WaitOutcome* done, const std::string& line) {
    if (!say || (done && !done->ready)) return;  // failures go to stderr below
    std::cout << line << "\n" << std::flush;
  });
  int rc = kExitOk;
  for (const WaitOutcome& w : outcomes) {
    json.push_back({{"vm", w.vm}, {"ready", w.ready}, {"seconds", w.seconds}, {"detail", w.detail}});
    if (w.ready) continue;
    rc = kExitError;
    if (o.human) std::cerr << "error: VM/" << w.vm << ": not ready: " << w.detail << w.console_tail << "\n";
  }
  return rc;
}

}  // namespace banger::cli
