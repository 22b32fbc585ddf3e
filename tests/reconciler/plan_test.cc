#include "reconciler/plan.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>

#include <atomic>
#include <mutex>
#include <set>

#include "reconciler/diff.h"
#include "reconciler/executor.h"
#include "reconciler/fixtures.h"

namespace banger {
namespace {

const Action& find(const Plan& p, ActionType t, const std::string& name = "") {
  for (const Action& a : p.actions) {
    if (a.type == t && (name.empty() || a.key.name == name)) return a;
  }
  throw std::runtime_error("no such action");
}

bool contains(const std::vector<int>& v, int id) { return std::find(v.begin(), v.end(), id) != v.end(); }

TEST(Plan, CreateOrderNetworkAndArtifactsBeforeVmBeforeForward) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  ASSERT_EQ(p.actions.size(), 7u);  // 5 resources + the nft table + the DNS servers
  const Action& vm = find(p, ActionType::EnsureVm, "web");
  EXPECT_TRUE(contains(vm.needs, find(p, ActionType::EnsureNetwork, "lab").id));
  EXPECT_TRUE(contains(vm.needs, find(p, ActionType::VerifyArtifact, "k").id));
  EXPECT_TRUE(contains(vm.needs, find(p, ActionType::VerifyArtifact, "i").id));
  const Action& sync = find(p, ActionType::SyncNat);
  EXPECT_TRUE(contains(sync.after, vm.id));
  EXPECT_TRUE(sync.needs.empty()) << "one VM failing must not block every forward";
  const Action& fwd = find(p, ActionType::RecordForward, "web-http");
  EXPECT_TRUE(contains(fwd.needs, sync.id));
  EXPECT_TRUE(contains(fwd.needs, vm.id));
}

TEST(Plan, NoChangesNoActions) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(Diff{}, d);
  EXPECT_TRUE(p.empty());
}

TEST(Plan, DeletesRunAfterTheTableAndNetworksLast) {
  DesiredState d = test::desired_from(test::kFleet);
  ObservedState o = test::converged(d);
  Plan p = make_plan(deletion_diff({{Kind::VM, "web"}, {Kind::Network, "lab"}, {Kind::PortForward, "web-http"}}, o),
                     DesiredState{});
  const Action& net = find(p, ActionType::DeleteNetwork, "lab");
  EXPECT_TRUE(contains(net.after, find(p, ActionType::DeleteVm, "web").id));
  EXPECT_TRUE(contains(net.after, find(p, ActionType::SyncNat).id));
  EXPECT_TRUE(contains(find(p, ActionType::ForgetForward).needs, find(p, ActionType::SyncNat).id));
}

TEST(Executor, RespectsDependenciesAndRunsEverything) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  std::mutex mu;
  std::set<int> done;
  std::atomic<bool> stop{false};
  auto report = execute(
      p,
      [&](const Action& a) {
        std::lock_guard lock(mu);
        for (int n : a.needs) EXPECT_TRUE(done.count(n)) << to_string(a.type) << " before its needs";
        for (int n : a.after) EXPECT_TRUE(done.count(n)) << to_string(a.type) << " before its afters";
        done.insert(a.id);
        return ActionOutcome::noted("ok");
      },
      3, stop);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.actions.size(), p.actions.size());
}

TEST(Executor, FailureSkipsDependentsOnlyAndOrderingStillHolds) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  std::atomic<bool> stop{false};
  auto report = execute(
      p,
      [&](const Action& a) -> ActionOutcome {
        if (a.type == ActionType::EnsureVm) throw std::runtime_error("boom");
        return ActionOutcome::noted("ok");
      },
      2, stop);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.count(Outcome::Failed), 1u);
  EXPECT_EQ(report.count(Outcome::Skipped), 1u);  // the forward
  EXPECT_EQ(report.count(Outcome::Succeeded), 5u);  // network, kernel, image, table, DNS servers
  for (const auto& r : report.actions) {
    if (r.outcome == Outcome::Skipped) {
      EXPECT_EQ(r.message, "VM/web did not succeed");  // the outcome says "skipped" (no "skipped: skipped:")
    }
  }
}

TEST(Executor, AFailureKeepsItsErrorCodeAndSaysWhetherARetryCanHelp) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  std::atomic<bool> stop{false};
  auto run_with = [&](const std::function<void()>& fail) {
    return execute(
        p,
        [&](const Action& a) -> ActionOutcome {
          if (a.type == ActionType::EnsureVm) fail();
          return ActionOutcome::noted("ok");
        },
        2, stop);
  };
  auto final_failure = run_with([] { throw HostError("tap bg-x: taken by a foreign link", ErrorCode::Conflict); });
  ASSERT_EQ(final_failure.count(Outcome::Failed), 1u);
  for (const auto& r : final_failure.actions) {
    if (r.outcome == Outcome::Failed) {
      EXPECT_EQ(r.code, ErrorCode::Conflict);
    }
  }
  EXPECT_FALSE(final_failure.retryable_failure());
  EXPECT_TRUE(run_with([] { throw HostError::from_errno("tap bg-x", EBUSY); }).retryable_failure());
  // Anything but a HostError is unknown, and so retried as before codes.
  EXPECT_TRUE(run_with([] { throw std::runtime_error("boom"); }).retryable_failure());
  EXPECT_FALSE(run_with([] {}).retryable_failure());
}

TEST(Executor, StopCancelsWhatHasNotStarted) {
  DesiredState d = test::desired_from(test::kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  std::atomic<bool> stop{false};
  auto report = execute(
      p,
      [&](const Action&) {
        stop = true;  // as if Ctrl-C arrived during the first action
        return ActionOutcome::noted("ok");
      },
      1, stop);
  EXPECT_EQ(report.count(Outcome::Succeeded), 1u);
  EXPECT_EQ(report.count(Outcome::Cancelled), p.actions.size() - 1);
}

}  // namespace
}  // namespace banger
