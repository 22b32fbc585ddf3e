#include "reconciler/diff.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "drivers/nat.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

// observed.nat as apply would leave it for the converged state.
void with_nat(const DesiredState& d, ObservedState& o) {
  o.nat = NatDriver::expected(target_nat(d, o, {}));
}

ObservedState converged_with_nat(const DesiredState& d) {
  ObservedState o = converged(d);
  with_nat(d, o);
  return o;
}

TEST(Diff, EverythingIsCreatedOnAnEmptyHost) {
  DesiredState d = desired_from(kFleet);
  Diff diff = compute_diff(d, ObservedState{}, {});
  ASSERT_EQ(diff.changes.size(), 5u);
  std::vector<std::string> order;
  for (const auto& c : diff.changes) {
    EXPECT_EQ(c.type, ChangeType::Create) << c.key.str();
    order.push_back(c.key.str());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "VM/web",
                                             "PortForward/web-http"}));
  EXPECT_FALSE(diff.empty());
}

TEST(Diff, ConvergedHostHasNoChanges) {
  DesiredState d = desired_from(kFleet);
  Diff diff = compute_diff(d, converged_with_nat(d), {});
  EXPECT_TRUE(diff.empty()) << (diff.changes.empty() ? "nat drift" : diff.changes[0].key.str());
}

// A build that listed a spec's values in another order stored another hash
// for the same values: that is no change, and the next apply need not touch it.
TEST(Diff, ARecordWithTheSameValuesInAnotherOrderIsNoChange) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  ResourceSpec older = *d.find({Kind::VM, "web"});
  std::reverse(older.fields.begin(), older.fields.end());
  ASSERT_NE(older.hash(), d.find({Kind::VM, "web"})->hash());
  ResourceRecord& rec = o.applied.at({Kind::VM, "web"});
  rec.spec_hash = older.hash();
  rec.spec_json = older.fields_json();
  Diff diff = compute_diff(d, o, {});
  EXPECT_TRUE(diff.empty()) << (diff.changes.empty() ? "nat drift" : diff.changes[0].key.str());
  // A value that differs is still found, whatever the order.
  older.fields.front().value = "2";
  rec.spec_json = older.fields_json();
  diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].fields.size(), 1u);
}

// A field added to the table after a resource was applied is missing from
// its record: at its default that is no change, set to anything else it is.
TEST(Diff, AFieldNewerThanTheRecordCountsAsItsDefault) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  ResourceSpec older = *d.find({Kind::VM, "web"});
  std::erase_if(older.fields, [](const SpecField& f) { return f.name == "description"; });
  ResourceRecord& rec = o.applied.at({Kind::VM, "web"});
  rec.spec_hash = older.hash();
  rec.spec_json = older.fields_json();
  EXPECT_TRUE(compute_diff(d, o, {}).empty());

  std::string described = kFleet;
  described.replace(described.find("memory: 256Mi"), 13, "memory: 256Mi, description: primary");
  Diff diff = compute_diff(desired_from(described), o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  ASSERT_EQ(diff.changes[0].fields.size(), 1u);
  EXPECT_EQ(diff.changes[0].fields[0].field, "description");
  EXPECT_EQ(diff.changes[0].fields[0].after, "primary");
  EXPECT_EQ(diff.changes[0].fields[0].effect, FieldEffect::InPlace);
  EXPECT_FALSE(diff.changes[0].restart);
}

TEST(Diff, BuiltInDefaultNetworkOnlyWhenUsed) {
  DesiredState d = desired_from(kFleet);
  EXPECT_EQ(d.find({Kind::Network, "default"}), nullptr);
  std::string on_default = std::string(kFleet) + "---\napiVersion: banger.dev/v1\nkind: VM\n"
                           "metadata: {name: db}\nspec: {kernel: k, image: i}\n";
  EXPECT_NE(desired_from(on_default).find({Kind::Network, "default"}), nullptr);
}

TEST(Diff, MemoryChangeIsAnUpdateThatRestartsARunningVm) {
  DesiredState before = desired_from(kFleet);
  ObservedState o = converged_with_nat(before);
  std::string changed = kFleet;
  changed.replace(changed.find("memory: 256Mi"), 13, "memory: 512Mi");
  Diff diff = compute_diff(desired_from(changed), o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  const Change& c = diff.changes[0];
  EXPECT_EQ(c.key.str(), "VM/web");
  EXPECT_EQ(c.type, ChangeType::Update);
  EXPECT_TRUE(c.restart);
  ASSERT_EQ(c.fields.size(), 1u);
  EXPECT_EQ(c.fields[0].field, "memory");
  EXPECT_EQ(c.fields[0].before, "256Mi");
  EXPECT_EQ(c.fields[0].after, "512Mi");
  EXPECT_EQ(c.fields[0].effect, FieldEffect::Restart);
}

TEST(Diff, StoppedVmDoesNotNeedARestartForBootChanges) {
  std::string stopped = kFleet;
  stopped.replace(stopped.find("runtime: firecracker"), 20, "runtime: firecracker, state: stopped");
  DesiredState before = desired_from(stopped);
  ObservedState o = converged_with_nat(before);
  std::string changed = stopped;
  changed.replace(changed.find("memory: 256Mi"), 13, "memory: 1Gi");
  Diff diff = compute_diff(desired_from(changed), o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_FALSE(diff.changes[0].restart);
}

TEST(Diff, ImageChangeForcesReplacement) {
  DesiredState before = desired_from(kFleet);
  ObservedState o = converged_with_nat(before);
  std::string changed = kFleet;
  changed.replace(changed.find("/i/root.ext4"), 12, "/i/other.ext4");
  Diff diff = compute_diff(desired_from(changed), o, {});
  const Change* vm = diff.find({Kind::VM, "web"});
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Replace);
  const Change* img = diff.find({Kind::Image, "i"});
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->type, ChangeType::Update);
}

TEST(Diff, ForwardPortChangeIsAnInPlaceUpdate) {
  DesiredState before = desired_from(kFleet);
  ObservedState o = converged_with_nat(before);
  std::string changed = kFleet;
  changed.replace(changed.find("hostPort: 8080"), 14, "hostPort: 9090");
  Diff diff = compute_diff(desired_from(changed), o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].type, ChangeType::Update);
  EXPECT_EQ(diff.changes[0].fields[0].field, "hostPort");
  EXPECT_EQ(diff.changes[0].fields[0].effect, FieldEffect::InPlace);
}

// A VM whose recorded process ended: restartPolicy and back-off decide.
ObservedState exited(const DesiredState& d, const std::string& vm, ExitStatus how) {
  ObservedState o = converged_with_nat(d);
  o.running.erase(vm);
  o.exits[vm] = how;
  o.now_ms = how.at_ms + 500;  // within the first 1 s back-off
  return o;
}

TEST(Diff, ACrashedVmWaitsOutItsBackOffOnlyWhenAskedTo) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = exited(d, "web", ExitStatus{true, 9, 5000000});
  o.runtimes["web"].started_at = 4000;
  Diff now = compute_diff(d, o, {});
  ASSERT_EQ(now.changes.size(), 1u);
  EXPECT_EQ(now.changes[0].drift, std::vector<std::string>{"process killed by signal 9; restart 1 in a row"});
  EXPECT_FALSE(now.changes[0].keep_down);
  EXPECT_FALSE(now.retry_at_ms);

  DiffOptions watcher;
  watcher.respect_backoff = true;
  Diff later = compute_diff(d, o, watcher);
  EXPECT_TRUE(later.changes.empty());
  ASSERT_TRUE(later.retry_at_ms);
  EXPECT_EQ(*later.retry_at_ms, 5001000);
  o.now_ms = 5001000;
  EXPECT_EQ(compute_diff(d, o, watcher).changes.size(), 1u);
}

TEST(Diff, ARepairOfAVmLeftDownByPolicyKeepsItDown) {
  std::string fleet = kFleet;
  const std::string rt = "runtime: firecracker}";
  ASSERT_NE(fleet.find(rt), std::string::npos);
  fleet.replace(fleet.find(rt), rt.size(), "runtime: firecracker, restartPolicy: never}");
  DesiredState d = desired_from(fleet);
  ObservedState o = exited(d, "web", ExitStatus{false, 1, 5000000});
  EXPECT_TRUE(compute_diff(d, o, {}).empty()) << "never: an exit is not drift";
  // Other drift is still repaired, without starting the process.
  o.links.by_name.erase(o.vms["web"].tap);
  Diff diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_TRUE(diff.changes[0].keep_down);
}

TEST(Diff, DeadProcessIsARepair) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  o.running.clear();
  Diff diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].type, ChangeType::Repair);
  EXPECT_EQ(diff.changes[0].drift,
            std::vector<std::string>{"process is not running (exit status unknown); restart 1 in a row"});
}

TEST(Diff, MissingTapDetachedTapAndDownBridgeAreRepairs) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  o.links.by_name["bg-tap-web"].master = 0;
  o.links.by_name["bg-lab"].up = false;
  Diff diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 2u);
  EXPECT_EQ(diff.changes[0].key.str(), "Network/lab");
  EXPECT_EQ(diff.changes[0].drift, std::vector<std::string>{"bridge bg-lab is down"});
  EXPECT_EQ(diff.changes[1].drift,
            std::vector<std::string>{"tap bg-tap-web is not attached to bridge bg-lab"});
  o.links.by_name.erase("bg-tap-web");
  diff = compute_diff(d, o, {});
  EXPECT_EQ(diff.find({Kind::VM, "web"})->drift, std::vector<std::string>{"tap bg-tap-web is missing"});
}

TEST(Diff, MissingOrForeignRulesAreRepairs) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  o.nat.rules_by_owner.erase(NatDriver::forward_owner("web-http"));
  Diff diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].key.str(), "PortForward/web-http");
  EXPECT_EQ(diff.changes[0].type, ChangeType::Repair);
  EXPECT_FALSE(diff.nat_drift);

  ObservedState foreign = converged_with_nat(d);
  foreign.nat.rules_by_owner[""].push_back("prerouting tcp dport 22 accept");
  diff = compute_diff(d, foreign, {});
  EXPECT_TRUE(diff.changes.empty());
  EXPECT_TRUE(diff.nat_drift);
  EXPECT_FALSE(diff.empty());
}

TEST(Diff, PruneDeletesOnlyWhatWasAppliedInReverseOrder) {
  DesiredState full = desired_from(kFleet);
  ObservedState o = converged_with_nat(full);
  DesiredState only_net = desired_from(
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: lab}\nspec: {subnet: 10.9.0.0/24}\n");
  Diff keep = compute_diff(only_net, o, {false});
  for (const auto& c : keep.changes) EXPECT_NE(c.type, ChangeType::Delete);
  Diff prune = compute_diff(only_net, o, {true});
  std::vector<std::string> deleted;
  for (const auto& c : prune.changes) {
    if (c.type == ChangeType::Delete) deleted.push_back(c.key.str());
  }
  EXPECT_EQ(deleted, (std::vector<std::string>{"PortForward/web-http", "VM/web", "Image/i", "Kernel/k"}));
}

TEST(Diff, DeletionDiffSkipsWhatWasNeverApplied) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  Diff diff = deletion_diff({{Kind::VM, "web"}, {Kind::VM, "ghost"}, {Kind::Network, "lab"}}, o);
  ASSERT_EQ(diff.changes.size(), 2u);
  EXPECT_EQ(diff.changes[0].key.str(), "VM/web");
  EXPECT_EQ(diff.changes[1].key.str(), "Network/lab");
}

TEST(Diff, UnprunedLeftoverForwardKeepsItsRules) {
  DesiredState full = desired_from(kFleet);
  ObservedState o = converged_with_nat(full);
  std::string without_forward = kFleet;
  without_forward.erase(without_forward.find("---\napiVersion: banger.dev/v1\nkind: PortForward"));
  Diff diff = compute_diff(desired_from(without_forward), o, {false});
  EXPECT_TRUE(diff.empty()) << "apply without --prune leaves the forward and its rules alone: "
                            << (diff.changes.empty() ? "nat drift" : diff.changes[0].key.str());
}

TEST(BootArgs, KernelIpSyntax) {
  DesiredState d = desired_from(kFleet);
  const VM& vm = d.set.vms[0];
  EXPECT_EQ(boot_args(d.set.kernels[0], vm, *parse_ipv4("10.9.0.10"), *parse_cidr("10.9.0.0/24")),
            "console=ttyS0 reboot=k panic=1 ip=10.9.0.10::10.9.0.1:255.255.255.0:web:eth0:off");
  EXPECT_EQ(mac_for(*parse_ipv4("172.20.0.10")), "06:00:AC:14:00:0A");
}

}  // namespace
}  // namespace banger

namespace banger {
namespace {

TEST(Diff, HalfCreatedVmThatLeftTheManifestsIsDeletedEvenWithoutPrune) {
  DesiredState d = test::desired_from(test::kFleet);
  ObservedState o = test::converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  // A crash after the VM's records and tap were made, before it was applied.
  o.vms["ghost"] = VmRecord{"ghost", "lab", "10.9.0.50", "06:00:0A:09:00:32", "bg-ghost", "/d/ghost"};
  Diff diff = compute_diff(d, o, {false});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].key.str(), "VM/ghost");
  EXPECT_EQ(diff.changes[0].type, ChangeType::Delete);
  EXPECT_EQ(diff.changes[0].drift, std::vector<std::string>{"an interrupted create left it behind"});
  // Still wanted: it is simply created (idempotently) again.
  o.applied.erase({Kind::VM, "web"});
  diff = compute_diff(d, o, {false});
  const Change* web = diff.find({Kind::VM, "web"});
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->type, ChangeType::Create);
}

}  // namespace
}  // namespace banger

namespace banger {
namespace {

std::string url_fleet(const std::string& kernel_sha, const std::string& image_sha) {
  return "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: lab}\nspec: {subnet: 10.9.0.0/24}\n"
         "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
         "spec: {url: 'https://example.com/vmlinux', sha256: " + kernel_sha + "}\n"
         "---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
         "spec: {url: 'https://example.com/root.ext4', sha256: " + image_sha + "}\n"
         "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: web}\n"
         "spec: {kernel: k, image: i, network: lab, runtime: firecracker}\n";
}

const ResourceKey kWeb{Kind::VM, "web"};

// A URL names its content only through sha256: a new hash at the same URL is
// new content, as a new path would be.
TEST(Diff, ANewSha256AtTheSameUrlRestartsOrReplacesTheVm) {
  const std::string a(64, 'a'), b(64, 'b');
  DesiredState before = desired_from(url_fleet(a, a));
  ObservedState o = converged_with_nat(before);
  EXPECT_TRUE(compute_diff(before, o, {}).empty());

  Diff kernel = compute_diff(desired_from(url_fleet(b, a)), o, {});
  const Change* vm = kernel.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Update);
  EXPECT_TRUE(vm->restart);
  ASSERT_EQ(vm->fields.size(), 1u);
  EXPECT_EQ(vm->fields[0].field, "kernelSource");
  EXPECT_EQ(vm->fields[0].after, "https://example.com/vmlinux (sha256:bbbbbbbbbbbb)");

  Diff image = compute_diff(desired_from(url_fleet(a, b)), o, {});
  vm = image.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Replace);
}

}  // namespace
}  // namespace banger
