// What `banger watch --metrics-address` serves: counters of the watcher's
// reconciles and actions, kept as they happen (thread-safe), and the
// Prometheus text exposition format (version 0.0.4) of them plus what the
// state shows at scrape time (VMs by state and runtime, restarts).
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <mutex>
#include <string>
#include <vector>

namespace banger {

/// The host at scrape time, read from the state (reconciler/watch_metrics.cc).
struct VmGauges {
  /// (state, ready, runtime) -> count: state "running", "stopped" (as
  /// wanted) or "down" (wanted running, process gone); ready "true" when the
  /// VM's readiness passes (its probe, or its process without one), else
  /// "false"; runtime "firecracker", "qemu", "".
  std::map<std::tuple<std::string, std::string, std::string>, int> vms;
  std::map<std::string, int64_t> restarts;  ///< VM -> restarts counted by banger
};

class WatchMetrics {
 public:
  /// Upper bounds of the reconcile duration histogram, in seconds.
  static const std::vector<double>& buckets();

  void reconciled(const std::string& result, double seconds, size_t repairs, int64_t now_unix);
  void action(const std::string& kind, const std::string& outcome);
  /// `watch --git`: a fetch ended; the commit the host converged to.
  void fetched(bool ok, int64_t now_unix);
  void converged_commit(const std::string& commit);

  /// The exposition text. Pure but for the counters' lock.
  std::string render(const VmGauges& g) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> reconciles_;  ///< by result
  std::map<std::pair<std::string, std::string>, uint64_t> actions_;
  std::vector<uint64_t> bucket_counts_ = std::vector<uint64_t>(buckets().size(), 0);
  double duration_sum_ = 0;
  uint64_t duration_count_ = 0;
  uint64_t repairs_ = 0;
  int64_t last_success_ = 0;
  std::map<std::string, uint64_t> fetches_;  ///< by result; empty: no git source
  int64_t last_fetch_ = 0;
  std::string commit_;
};

/// VM gauges from the state dir: applied VMs, their recorded processes
/// (alive by pid, start time and exe) and restart records. Empty when the
/// state cannot be read.
VmGauges read_vm_gauges(const std::string& state_dir);

}  // namespace banger
