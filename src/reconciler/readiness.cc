#include "reconciler/readiness.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "drivers/vm_files.h"
#include "reconciler/applied_spec.h"
#include "reconciler/recorded_vm.h"
#include "resources/quantity.h"

namespace banger {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kRoundTimeout{1000};  ///< one probe attempt
constexpr milliseconds kRoundGap{500};       ///< between attempts
constexpr milliseconds kReportEvery{5000};  ///< a "still waiting" line

std::string fixed1(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

std::string what(const ReadyTarget& t) {
  return t.probe ? describe(*t.probe) : std::string("process");
}

}  // namespace

ReadyTarget ready_target(const ResourceRecord& vm, const VmRecord* rec, const VmRuntime* rt) {
  ReadyTarget t;
  t.vm = vm.name;
  t.readiness = applied_vm(vm).readiness;
  if (t.readiness.probe != Readiness::Probe::None && rec && !rec->ip.empty()) {
    t.probe = ProbeTarget{rec->ip, t.readiness.port, t.readiness.probe == Readiness::Probe::Http,
                          t.readiness.path.empty() ? "/" : t.readiness.path};
  }
  if (rt) {
    t.process = recorded_process(*rt);
    t.log_path = rt->log_path;
  }
  return t;
}

std::vector<ReadyTarget> ready_targets(Store& store, const std::vector<std::string>& vms) {
  std::vector<ReadyTarget> out;
  for (const std::string& name : vms) {
    auto res = store.resource("VM", name);
    if (!res) continue;
    if (applied_vm(*res).state.value == VmState::Stopped) continue;
    auto rec = store.vm(name);
    auto rt = store.runtime(name);
    out.push_back(ready_target(*res, rec ? &*rec : nullptr, rt ? &*rt : nullptr));
  }
  return out;
}

std::vector<ReadyStatus> check_ready(const std::vector<ReadyTarget>& targets, milliseconds timeout) {
  std::vector<ReadyStatus> out(targets.size());
  std::vector<ProbeTarget> probes;
  std::vector<size_t> index;
  for (size_t i = 0; i < targets.size(); ++i) {
    const ReadyTarget& t = targets[i];
    if (!t.process || (!t.seen_running && !is_running(*t.process))) {
      out[i] = {false, "process not running"};
    } else if (t.readiness.probe == Readiness::Probe::None) {
      out[i] = {true, "process running"};
    } else if (!t.probe) {
      out[i] = {false, "no IP recorded"};
    } else {
      probes.push_back(*t.probe);
      index.push_back(i);
    }
  }
  auto results = probe_all(probes, timeout);
  for (size_t k = 0; k < results.size(); ++k) out[index[k]] = {results[k].ok, results[k].detail};
  return out;
}

std::vector<WaitOutcome> wait_ready(const std::vector<ReadyTarget>& targets, const std::atomic<bool>& stop,
                                    const WaitProgressFn& progress) {
  const auto t0 = Clock::now();
  std::vector<WaitOutcome> out(targets.size());
  std::vector<bool> done(targets.size(), false);
  std::vector<std::string> last(targets.size());
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto finish = [&](size_t i, bool ready, std::string detail) {
    const ReadyTarget& t = targets[i];
    out[i].ready = ready;
    out[i].seconds = elapsed();
    out[i].detail = std::move(detail);
    if (!ready && !t.log_path.empty()) out[i].console_tail = log_tail(t.log_path, 0);
    done[i] = true;
    if (progress) {
      progress(&out[i], "VM/" + t.vm + ": " + (ready ? "ready (" : "not ready: ") + out[i].detail +
                            (ready ? ")" : "") + " [" + fixed1(out[i].seconds) + "]");
    }
  };
  for (size_t i = 0; i < targets.size(); ++i) out[i].vm = targets[i].vm;
  auto next_report = t0 + kReportEvery;

  for (;;) {
    std::vector<size_t> pending;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!done[i]) pending.push_back(i);
    }
    if (pending.empty()) break;
    if (stop) {
      for (size_t i : pending) finish(i, false, "interrupted while waiting for " + what(targets[i]));
      break;
    }
    std::vector<ReadyTarget> round;
    for (size_t i : pending) round.push_back(targets[i]);
    auto status = check_ready(round, kRoundTimeout);
    for (size_t k = 0; k < pending.size(); ++k) {
      size_t i = pending[k];
      const ReadyTarget& t = targets[i];
      if (status[k].ready) {
        finish(i, true, t.probe ? describe(*t.probe) + ": " + status[k].detail : status[k].detail);
      } else if (!t.process || !is_running(*t.process)) {
        finish(i, false, "VM process is not running (it exited or was never started)");
      } else if (Clock::now() - t0 >= t.readiness.timeout) {
        finish(i, false, "readiness probe " + what(t) + " did not pass within " +
                             format_duration(t.readiness.timeout) + " (last: " + status[k].detail + ")");
      } else {
        last[i] = status[k].detail;
      }
    }
    if (progress && Clock::now() >= next_report) {
      next_report += kReportEvery;
      for (size_t i = 0; i < targets.size(); ++i) {
        if (!done[i]) {
          progress(nullptr, "VM/" + targets[i].vm + ": waiting for " + what(targets[i]) + " (" +
                                fixed1(elapsed()) + ", last: " + last[i] + ")");
        }
      }
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    std::this_thread::sleep_for(kRoundGap);
  }
  return out;
}

}  // namespace banger
