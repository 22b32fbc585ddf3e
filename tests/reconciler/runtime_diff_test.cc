// The runtime in the pure diff: a VM the plan starts carries its runtime and
// the reason as a note; one that nothing on this host can run is an error of
// the plan (apply refuses it whole, diff exits 1), before anything changes.
#include <gtest/gtest.h>

#include "reconciler/diff.h"
#include "reconciler/fixtures.h"
#include "reconciler/plan.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

const ResourceKey kWeb{Kind::VM, "web"};

std::string fleet_runtime(const std::string& runtime) {
  std::string f = kFleet;
  f.replace(f.find("runtime: firecracker"), 20, "runtime: " + runtime);
  return f;
}

HypervisorHost pvm_host(bool firecracker) {
  HypervisorHost h;
  h.known = true;
  h.kvm.present = h.kvm.opened = h.kvm.vm_created = true;
  h.kvm.api_version = 12;
  h.kvm.modules = "kvm_pvm";
  h.qemu = "/usr/bin/qemu-system-x86_64";
  if (firecracker) h.firecracker = "/usr/local/bin/firecracker";
  else h.firecracker_why = "firecracker binary not found: put it on PATH";
  return h;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(RuntimeDiff, ACreateSaysWhichRuntimeAndWhy) {
  ObservedState o;
  o.hypervisors = pvm_host(false);
  Diff diff = compute_diff(desired_from(fleet_runtime("auto")), o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->error, "");
  EXPECT_NE(joined(vm->notes).find("runtime qemu/tcg (auto: /dev/kvm is PVM (kvm_pvm)"), std::string::npos)
      << joined(vm->notes);
  EXPECT_TRUE(diff.refused().empty());
}

TEST(RuntimeDiff, ExplicitFirecrackerWithoutItsBinaryRefusesThePlan) {
  ObservedState o;
  o.hypervisors = pvm_host(false);
  Diff diff = compute_diff(desired_from(kFleet), o, {});  // runtime: firecracker
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_NE(vm->error.find("firecracker binary not found"), std::string::npos) << vm->error;
  ASSERT_EQ(diff.refused().size(), 1u);
  EXPECT_NE(refusal_message(*vm).find("VM/web: "), std::string::npos);
}

TEST(RuntimeDiff, AccelKvmOnPvmRefusesEveryVmItWouldStart) {
  ObservedState o;
  o.hypervisors = pvm_host(true);
  o.hypervisors.accel = Accel::Kvm;
  Diff diff = compute_diff(desired_from(fleet_runtime("qemu")), o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_NE(vm->error.find("--accel kvm, but /dev/kvm is PVM"), std::string::npos) << vm->error;
}

TEST(RuntimeDiff, AVmThatKeepsRunningOrStaysStoppedIsNotJudged) {
  // Running and unchanged: no change at all, whatever the host's runtimes.
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged(d);
  o.hypervisors = pvm_host(false);
  EXPECT_EQ(compute_diff(d, o, {}).find(kWeb), nullptr);

  // A new VM with state: stopped starts nothing, so needs no runtime yet.
  std::string stopped = kFleet;
  stopped.replace(stopped.find("runtime: firecracker"), 20, "runtime: firecracker, state: stopped");
  ObservedState fresh;
  fresh.hypervisors = pvm_host(false);
  Diff diff = compute_diff(desired_from(stopped), fresh, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->error, "");
  EXPECT_TRUE(vm->notes.empty());
}

TEST(RuntimeDiff, AVmWhoseProcessIsGoneIsJudgedBeforeItIsStartedAgain) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged(d);
  o.running.clear();  // died; restartPolicy always
  o.hypervisors = pvm_host(false);
  Diff diff = compute_diff(d, o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Repair);
  EXPECT_NE(vm->error.find("firecracker binary not found"), std::string::npos) << vm->error;
}

TEST(RuntimeDiff, NothingIsJudgedWithoutHostFacts) {
  // An offline diff (--against an export) knows no KVM or binaries.
  ObservedState o;
  Diff diff = compute_diff(desired_from(kFleet), o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->error, "");
  EXPECT_TRUE(vm->notes.empty());
}

}  // namespace
}  // namespace banger
