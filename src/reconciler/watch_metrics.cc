#include "reconciler/watch_metrics.h"

#include <cstdio>

#include "reconciler/applied_spec.h"
#include "reconciler/readiness.h"
#include "reconciler/recorded_vm.h"
#include "state/store.h"

namespace banger {

namespace {

// A label value as the format wants it: \, " and newlines escaped.
std::string escaped(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// One line per result, in this order, 0 for a result not seen yet.
void by_result(std::string& out, const char* name, std::initializer_list<const char*> results,
               const std::map<std::string, uint64_t>& counts) {
  for (const char* r : results) {
    auto it = counts.find(r);
    out += std::string(name) + "{result=\"" + r + "\"} " + std::to_string(it == counts.end() ? 0 : it->second) + "\n";
  }
}

}  // namespace

const std::vector<double>& WatchMetrics::buckets() {
  static const std::vector<double> b{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return b;
}

void WatchMetrics::reconciled(const std::string& result, double seconds, size_t repairs, int64_t now_unix) {
  std::lock_guard g(mu_);
  ++reconciles_[result];
  for (size_t i = 0; i < buckets().size(); ++i) {
    if (seconds <= buckets()[i]) ++bucket_counts_[i];
  }
  duration_sum_ += seconds;
  ++duration_count_;
  repairs_ += repairs;
  if (result != "failed") last_success_ = now_unix;
}

void WatchMetrics::action(const std::string& kind, const std::string& outcome) {
  std::lock_guard g(mu_);
  ++actions_[{kind, outcome}];
}

void WatchMetrics::fetched(bool ok, int64_t now_unix) {
  std::lock_guard g(mu_);
  ++fetches_[ok ? "ok" : "failed"];
  if (ok) last_fetch_ = now_unix;
}

void WatchMetrics::converged_commit(const std::string& commit) {
  std::lock_guard g(mu_);
  commit_ = commit;
}

std::string WatchMetrics::render(const VmGauges& vg) const {
  std::lock_guard g(mu_);
  std::string out;
  header(out, "banger_reconciles_total", "counter", "Reconciles of banger watch, by result (unchanged, converged, failed).");
  by_result(out, "banger_reconciles_total", {"unchanged", "converged", "failed"}, reconciles_);
  header(out, "banger_reconcile_duration_seconds", "histogram", "How long each reconcile took, observe to last action.");
  for (size_t i = 0; i < buckets().size(); ++i) {
    out += "banger_reconcile_duration_seconds_bucket{le=\"" + number(buckets()[i]) + "\"} " +
           std::to_string(bucket_counts_[i]) + "\n";
  }
  out += "banger_reconcile_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(duration_count_) + "\n";
  out += "banger_reconcile_duration_seconds_sum " + number(duration_sum_) + "\n";
  out += "banger_reconcile_duration_seconds_count " + std::to_string(duration_count_) + "\n";
  header(out, "banger_actions_total", "counter", "Actions the watcher ran, by kind (ensure-vm, sync-nat, ...) and outcome.");
  for (const auto& [key, n] : actions_) {
    out += "banger_actions_total{kind=\"" + escaped(key.first) + "\",outcome=\"" + escaped(key.second) + "\"} " +
           std::to_string(n) + "\n";
  }
  header(out, "banger_drift_repairs_total", "counter", "Changes that repaired drift (a VM, tap, rule or server gone or changed by hand).");
  out += "banger_drift_repairs_total " + std::to_string(repairs_) + "\n";
  header(out, "banger_last_successful_reconcile_timestamp_seconds", "gauge",
         "Unix time of the last reconcile that did not fail (0: none yet).");
  out += "banger_last_successful_reconcile_timestamp_seconds " + std::to_string(last_success_) + "\n";
  header(out, "banger_vms", "gauge", "Applied VMs by state (running, stopped, down), readiness and runtime.");
  for (const auto& [key, n] : vg.vms) {
    const auto& [state, ready, runtime] = key;
    out += "banger_vms{state=\"" + escaped(state) + "\",ready=\"" + ready + "\",runtime=\"" + escaped(runtime) +
           "\"} " + std::to_string(n) + "\n";
  }
  if (!fetches_.empty()) {
    header(out, "banger_git_fetches_total", "counter", "Fetches of the git source (watch --git), by result (ok, failed).");
    by_result(out, "banger_git_fetches_total", {"ok", "failed"}, fetches_);
    header(out, "banger_git_last_successful_fetch_timestamp_seconds", "gauge",
           "Unix time of the last git fetch that worked (0: none yet).");
    out += "banger_git_last_successful_fetch_timestamp_seconds " + std::to_string(last_fetch_) + "\n";
    header(out, "banger_git_commit_info", "gauge", "The commit the host was last converged to (value 1).");
    if (!commit_.empty()) out += "banger_git_commit_info{commit=\"" + escaped(commit_) + "\"} 1\n";
  }
  header(out, "banger_vm_restarts_total", "counter", "Restarts of a VM whose process ended on its own.");
  for (const auto& [vm, n] : vg.restarts) {
    out += "banger_vm_restarts_total{vm=\"" + escaped(vm) + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

namespace {
constexpr std::chrono::milliseconds kScrapeReadyCheck{300};
}  // namespace

VmGauges read_vm_gauges(const std::string& state_dir) {
  VmGauges g;
  try {
    // Read-only: a scrape never makes the state dir or database (before the
    // watcher's first reconcile it reads an empty state).
    Store store(state_dir, Store::Access::ReadOnly);
    std::map<std::string, VmRuntime> runtimes;
    std::map<std::string, VmRecord> records;
    for (VmRuntime& rt : store.runtimes()) runtimes.emplace(rt.name, rt);
    for (VmRecord& v : store.vms()) records.emplace(v.name, v);
    struct Row {
      std::string state, runtime;
      bool ready = false;
    };
    std::map<std::string, Row> rows;   // by VM
    std::vector<ReadyTarget> targets;  // the running VMs', probed in one round
    for (const ResourceRecord& r : store.resources()) {
      if (r.kind != "VM") continue;
      VM vm = applied_vm(r);
      auto rt = runtimes.find(r.name);
      const bool alive = rt != runtimes.end() && is_running(recorded_process(rt->second));
      rows[r.name] = {alive ? "running" : vm.state.value == VmState::Stopped ? "stopped" : "down",
                      alive ? rt->second.hypervisor : ""};
      if (!alive) continue;
      auto rec = records.find(r.name);
      targets.push_back(ready_target(r, rec != records.end() ? &rec->second : nullptr, &rt->second));
      targets.back().seen_running = true;
    }
    // As `get` checks: one round for all, bounded, so a guest that does not
    // answer costs the scrape at most this much.
    auto status = check_ready(targets, kScrapeReadyCheck);
    for (size_t i = 0; i < targets.size(); ++i) rows[targets[i].vm].ready = status[i].ready;
    for (const auto& [vm, row] : rows) ++g.vms[{row.state, row.ready ? "true" : "false", row.runtime}];
    for (const RestartRecord& rr : store.restart_records()) g.restarts[rr.name] = rr.restarts;
  } catch (const std::exception&) {
    // metrics never fail a scrape for a state that cannot be read now
  }
  return g;
}

}  // namespace banger
