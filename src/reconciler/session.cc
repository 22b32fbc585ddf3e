#include "reconciler/session.h"

#include "common/profile.h"

namespace banger {

Session::Session(SessionOptions opts) : opts_(std::move(opts)) {
  if (opts_.lock) {
    // The store creates the state dir; the lock file lives in it, so the
    // store comes first, but nothing is read before the lock is held.
    store_ = std::make_unique<Store>(opts_.host.state_dir);
    lock_ = std::make_unique<HostLock>(
        opts_.host.state_dir,
        HostLockOptions{opts_.wait_for_lock, opts_.lock_timeout, opts_.command, opts_.on_lock_wait});
  } else {
    store_ = std::make_unique<Store>(opts_.host.state_dir,
                                     opts_.read_only ? Store::Access::ReadOnly : Store::Access::ReadWrite);
  }
  host_ = std::make_unique<HostReconciler>(*store_, opts_.host);
}

Session::~Session() = default;

const ObservedState& Session::observe() {
  if (!observed_) observed_ = std::make_unique<ObservedState>(host_->observe());
  return *observed_;
}

ObservedState Session::observe_without_nat() { return host_->observe(/*with_nat=*/false); }

Plan Session::plan_apply(const DesiredState& desired, bool prune) {
  DiffOptions opts;
  opts.prune = prune;
  return plan_apply(desired, opts);
}

Plan Session::plan_apply(const DesiredState& desired, const DiffOptions& opts) {
  const ObservedState& o = observe();
  Diff diff;
  {
    profile::Scope p("diff");
    diff = compute_diff(desired, o, opts);
  }
  profile::Scope p("plan");
  return make_plan(std::move(diff), desired);
}

Plan Session::plan_delete(const std::set<ResourceKey>& keys) {
  return make_plan(deletion_diff(keys, observe()), DesiredState{});
}

ExecutionReport Session::execute(const Plan& plan, const DesiredState& desired,
                                 const std::atomic<bool>& stop, const ProgressFn& progress) {
  profile::Scope p("execute");
  host_->begin(plan, desired);
  ExecutionReport r = banger::execute(
      plan, [&](const Action& a) { return host_->run(a, plan, desired); }, opts_.workers, stop,
      progress);
  observed_.reset();  // the host changed
  return r;
}

}  // namespace banger
