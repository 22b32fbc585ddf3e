// One run of banger against this host: the lock, the store, the drivers, and
// the observe -> diff -> plan -> execute steps that apply, diff and delete share.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>

#include "reconciler/diff.h"
#include "reconciler/executor.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/plan.h"
#include "state/host_lock.h"

namespace banger {

struct SessionOptions {
  HostOptions host;
  /// Take the host lock (apply, delete). diff only reads and does not.
  bool lock = true;
  /// Open the state read-only (Store::Access::ReadOnly): get, diff and
  /// state export run by a member of the group banger, without root.
  bool read_only = false;
  bool wait_for_lock = true;
  std::chrono::milliseconds lock_timeout{0};  ///< 0: wait as long as it takes
  std::string command = "banger";             ///< "banger apply": who holds the lock, for a waiting run
  std::function<void(const std::string& holder)> on_lock_wait;
  /// Most of an action's time is waiting (a hypervisor's start, a guest's
  /// shutdown, the kernel's RCU barrier behind a batch of tap deletes, an
  /// fsync), not CPU: 32 workers keep the 2 cores busy, and concurrent tap
  /// deletes go out as one batch (4 workers made batches of 4).
  int workers = 32;
};

class Session {
 public:
  /// Throws HostError (lock busy with wait=false, store unusable, ...).
  explicit Session(SessionOptions opts);
  ~Session();

  const ObservedState& observe();  ///< cached after the first call
  /// What `get` shows: the records, processes, links and disks, without the
  /// nft listing (the costliest read at a thousand forwards, and get shows
  /// no rule). Not cached: observe() after it reads everything.
  ObservedState observe_without_nat();
  Plan plan_apply(const DesiredState& desired, bool prune);
  /// As above with every diff option (the watcher's prune scope).
  Plan plan_apply(const DesiredState& desired, const DiffOptions& opts);
  Plan plan_delete(const std::set<ResourceKey>& keys);
  ExecutionReport execute(const Plan& plan, const DesiredState& desired,
                          const std::atomic<bool>& stop, const ProgressFn& progress);
  Store& store() { return *store_; }
  const std::string& state_dir() const { return opts_.host.state_dir; }

 private:
  SessionOptions opts_;
  std::unique_ptr<HostLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<HostReconciler> host_;
  std::unique_ptr<ObservedState> observed_;
};

}  // namespace banger
