// HostReconciler::begin: every VM a plan stops is asked to shut down before
// the first action runs. A guest takes its own time to shut down (the test
// double 20 ms, a real one seconds); asked one after another, a delete of N
// VMs waited N times that. Asked at once, the waits overlap: each stop_vm
// then waits only for what is left of its grace, and holds no worker for
// a guest that has long finished.
#include <algorithm>
#include <atomic>
#include <thread>

#include "common/fault.h"
#include "common/profile.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/recorded_vm.h"

namespace banger {

namespace {

// Asks are one API call each (about a millisecond): a few threads send them
// all in the time of a few.
constexpr size_t kAskThreads = 16;

bool stops_in_plan(const Action& a, const Change* c, const DesiredState& d) {
  if (a.type == ActionType::DeleteVm) return true;
  if (a.type != ActionType::EnsureVm) return false;
  if (c && c->stop_first) return true;
  const VM* vm = d.set.find_vm(a.key.name);
  return vm && vm->state.value == VmState::Stopped;
}

}  // namespace

void HostReconciler::begin(const Plan& plan, const DesiredState& desired) {
  profile::Scope p("begin.ask_stop");
  std::vector<VmRuntime> to_ask;
  locked([&] {
    for (const Action& a : plan.actions) {
      if (!stops_in_plan(a, plan.change_of(a), desired)) continue;
      if (auto rt = store_.runtime(a.key.name)) to_ask.push_back(*rt);
    }
  });
  if (to_ask.empty()) return;
  std::atomic<size_t> next{0};
  auto ask = [&] {
    for (size_t i = next++; i < to_ask.size(); i = next++) {
      const VmRuntime& rt = to_ask[i];
      const VmHandle h = recorded_handle(rt);
      if (!is_running(h.process)) continue;
      // Journaled like any host change, but the entry stays open until the
      // VM's stop_vm has seen it gone (see Asked).
      const int64_t entry =
          locked([&] { return store_.journal_begin("ask_stop", "process", std::to_string(rt.pid), "VM/" + rt.name); });
      fault_point("before", "process.ask_stop");
      const bool asked = recorded_hypervisor(rt)->ask_stop(h);
      fault_point("after", "process.ask_stop");
      if (!asked) {  // stop_vm asks again, and kills after its grace
        locked([&] { store_.journal_end(entry); });
        continue;
      }
      std::lock_guard lock(asked_mu_);
      asked_[rt.name] = Asked{std::chrono::steady_clock::now(), entry};
    }
  };
  std::vector<std::thread> threads;
  const size_t n = std::min(kAskThreads, to_ask.size());
  for (size_t i = 1; i < n; ++i) threads.emplace_back(ask);
  ask();
  for (auto& t : threads) t.join();
}

bool HostReconciler::left_going_down(const std::string& name) {
  {
    std::lock_guard lock(asked_mu_);
    if (asked_.count(name)) return false;  // this run's own ask: stop_vm follows
  }
  const std::string owner = "VM/" + name;
  return locked([&] {
    for (const JournalEntry& e : store_.pending_journal()) {
      if (e.owner == owner && e.type == "process" && e.action == "ask_stop") return true;
    }
    return false;
  });
}

}  // namespace banger
