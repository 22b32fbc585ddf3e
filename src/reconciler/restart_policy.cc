#include "reconciler/restart_policy.h"

#include <algorithm>

namespace banger {

namespace {

// When the reaper left no record (killed itself, host rebooted), the exit
// time is unknown; the start time bounds it and keeps the back-off finite.
int64_t exit_time(const VmRuntime& rt, const std::optional<ExitStatus>& exit) {
  return exit ? exit->at_ms : rt.started_at * 1000;
}

// Restarts in a row before this exit: reset when the run lasted 10 min.
int64_t prior_in_a_row(const RestartRecord* rec, const VmRuntime& rt, const std::optional<ExitStatus>& exit) {
  if (!rec) return 0;
  int64_t ran = exit_time(rt, exit) - rt.started_at * 1000;
  return ran >= kBackoffResetAfterMs ? 0 : rec->consecutive;
}

}  // namespace

int64_t backoff_ms(int64_t consecutive) {
  int64_t ms = kBackoffFirstMs;
  for (int64_t i = 0; i < consecutive && ms < kBackoffMaxMs; ++i) ms *= 2;
  return std::min(ms, kBackoffMaxMs);
}

RestartDecision decide_restart(const std::string& policy, const VmRuntime* rt, bool running,
                               const std::optional<ExitStatus>& exit, const RestartRecord* rec,
                               int64_t now_ms) {
  RestartDecision d;
  if (running || !rt) return d;
  d.exit = exit ? exit->str() : "unknown";
  if (policy == "never") {
    d.kind = RestartDecision::Kind::Stay;
    d.reason = d.exit + "; restartPolicy never leaves it down";
    return d;
  }
  if (policy == "on-failure" && exit && exit->clean()) {
    d.kind = RestartDecision::Kind::Stay;
    d.reason = d.exit + " (clean); restartPolicy on-failure leaves it down";
    return d;
  }
  int64_t in_a_row = prior_in_a_row(rec, *rt, exit);
  d.at_ms = exit_time(*rt, exit) + backoff_ms(in_a_row);
  d.kind = now_ms >= d.at_ms ? RestartDecision::Kind::Restart : RestartDecision::Kind::Wait;
  d.reason = (exit ? "process " + d.exit : std::string("process is not running (exit status unknown)")) +
             "; restart " + std::to_string(in_a_row + 1) + " in a row";
  return d;
}

RestartDecision decide_restart(const std::string& policy, const std::string& name, const ObservedState& o) {
  auto rt = o.runtimes.find(name);
  auto ex = o.exits.find(name);
  auto rr = o.restarts.find(name);
  return decide_restart(policy, rt != o.runtimes.end() ? &rt->second : nullptr, o.running.count(name) > 0,
                        ex != o.exits.end() ? std::optional<ExitStatus>(ex->second) : std::nullopt,
                        rr != o.restarts.end() ? &rr->second : nullptr, o.now_ms);
}

RestartRecord next_restart_record(const std::string& vm, const RestartRecord* prev, const VmRuntime& rt,
                                  const std::optional<ExitStatus>& exit, int64_t now_ms) {
  RestartRecord r;
  r.name = vm;
  r.restarts = (prev ? prev->restarts : 0) + 1;
  r.consecutive = prior_in_a_row(prev, rt, exit) + 1;
  r.last_exit = exit ? exit->str() : "unknown";
  r.last_exit_at = exit ? exit->at_ms : now_ms;
  return r;
}

}  // namespace banger
