// Disks in the pure diff: what a VM's recorded disk allows (no shrink, no
// snapshot growth), the data loss of a replace and --replace, diskStrategy
// changes, and leftovers of a crash that no record explains.
#include <gtest/gtest.h>

#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/disk_rules.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/plan.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

const ResourceKey kWeb{Kind::VM, "web"};

std::string fleet_with(const std::string& vm_extra) {
  std::string f = kFleet;
  f.replace(f.find("runtime: firecracker}"), 21, "runtime: firecracker" + vm_extra + "}");
  return f;
}

// The converged host of `yaml`, its VM's disk recorded as `method` of `size`.
ObservedState host_of(const std::string& yaml, const std::string& method, uint64_t size) {
  DesiredState d = desired_from(yaml);
  ObservedState o = converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  o.disks["web"] = DiskRecord{"web", method, static_cast<int64_t>(size), "/i/root.ext4",
                              method == "snapshot" ? "/s/vms/web/cow.img" : ""};
  return o;
}

TEST(DiskDiff, ImageChangeIsReplaceWithDataLossRefusedWithoutReplaceFlag) {
  ObservedState o = host_of(kFleet, "reflink", 1 * GiB);
  std::string changed = std::string(kFleet) +
                        "---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: j}\nspec: {path: /j.ext4}\n";
  changed.replace(changed.find("image: i,"), 9, "image: j,");
  Diff diff = compute_diff(desired_from(changed), o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Replace);
  EXPECT_TRUE(vm->data_loss);
  EXPECT_FALSE(vm->replace_accepted);
  EXPECT_TRUE(vm->refused());
  ASSERT_EQ(diff.refused().size(), 1u);
  std::string msg = refusal_message(*vm);
  EXPECT_NE(msg.find("VM/web: image i -> j"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--replace VM/web"), std::string::npos) << msg;

  DiffOptions opts;
  opts.replace = {kWeb};
  Diff accepted = compute_diff(desired_from(changed), o, opts);
  vm = accepted.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_TRUE(vm->data_loss);
  EXPECT_TRUE(vm->replace_accepted);
  EXPECT_FALSE(vm->refused());
  EXPECT_TRUE(accepted.refused().empty());
}

TEST(DiskDiff, ReplaceFlagForcesReplacementOfAnUnchangedVm) {
  ObservedState o = host_of(kFleet, "copy", 1 * GiB);
  EXPECT_EQ(compute_diff(desired_from(kFleet), o, {}).find(kWeb), nullptr);
  DiffOptions opts;
  opts.replace = {kWeb};
  Diff diff = compute_diff(desired_from(kFleet), o, opts);
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Replace);
  EXPECT_TRUE(vm->restart);  // it runs, so it is stopped and started on the new disk
  EXPECT_TRUE(vm->data_loss && vm->replace_accepted);
  ASSERT_EQ(vm->notes.size(), 1u);
  EXPECT_NE(vm->notes[0].find("--replace"), std::string::npos);
  // Nothing else is touched.
  EXPECT_EQ(diff.changes.size(), 1u);
}

TEST(DiskDiff, DiskSizeDecreaseIsAnError) {
  ObservedState o = host_of(fleet_with(", diskSize: 2Gi"), "copy", 2 * GiB);
  Diff diff = compute_diff(desired_from(fleet_with(", diskSize: 1Gi")), o, {});
  const Change* vm = diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_TRUE(vm->refused());
  EXPECT_NE(vm->error.find("diskSize 1Gi is smaller than its disk (2Gi)"), std::string::npos) << vm->error;
  EXPECT_NE(vm->error.find("never shrunk"), std::string::npos);
  // --replace makes a new, smaller disk instead: then it is allowed.
  DiffOptions opts;
  opts.replace = {kWeb};
  Diff replaced = compute_diff(desired_from(fleet_with(", diskSize: 1Gi")), o, opts);  // kept: vm points into it
  vm = replaced.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_TRUE(vm->error.empty());
  EXPECT_FALSE(vm->refused());
}

TEST(DiskDiff, DiskSizeIncreaseOfAFileDiskRestartsTheVm) {
  ObservedState o = host_of(fleet_with(", diskSize: 1Gi"), "reflink", 1 * GiB);
  const Diff vm_diff = compute_diff(desired_from(fleet_with(", diskSize: 2Gi")), o, {});  // kept: vm points into it
  const Change* vm = vm_diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Update);
  EXPECT_TRUE(vm->restart);
  EXPECT_FALSE(vm->refused());
  EXPECT_FALSE(vm->data_loss);
}

TEST(DiskDiff, SnapshotCannotGrow) {
  ObservedState o = host_of(fleet_with(", diskSize: 1Gi"), "snapshot", 1 * GiB);
  const Diff vm_diff = compute_diff(desired_from(fleet_with(", diskSize: 2Gi")), o, {});  // kept: vm points into it
  const Change* vm = vm_diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_TRUE(vm->refused());
  EXPECT_NE(vm->error.find("device-mapper snapshot"), std::string::npos) << vm->error;
  EXPECT_NE(vm->error.find("--replace VM/web"), std::string::npos) << vm->error;
}

TEST(DiskDiff, StrategyChangeReplacesOnlyWhenItNamesAnotherMethod) {
  ObservedState o = host_of(kFleet, "snapshot", 1 * GiB);
  // auto -> snapshot: the disk already is one.
  const Diff same_diff = compute_diff(desired_from(fleet_with(", diskStrategy: snapshot")), o, {});  // kept: same points into it
  const Change* same = same_diff.find(kWeb);
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->type, ChangeType::Update);
  EXPECT_FALSE(same->data_loss);
  // auto -> copy: a new disk, with data loss.
  const Diff other_diff = compute_diff(desired_from(fleet_with(", diskStrategy: copy")), o, {});  // kept: other points into it
  const Change* other = other_diff.find(kWeb);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->type, ChangeType::Replace);
  EXPECT_TRUE(other->data_loss);
  EXPECT_TRUE(other->refused());
  // copy -> auto on a copy disk: nothing to do to the disk.
  ObservedState c = host_of(fleet_with(", diskStrategy: copy"), "copy", 1 * GiB);
  const Diff back_diff = compute_diff(desired_from(kFleet), c, {});  // kept: back points into it
  const Change* back = back_diff.find(kWeb);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->type, ChangeType::Update);
  EXPECT_FALSE(back->data_loss);
}

TEST(DiskDiff, MissingSnapshotDeviceIsRepairedNotReplaced) {
  ObservedState o = host_of(kFleet, "snapshot", 1 * GiB);
  o.disks_present.erase("web");  // after a reboot: the dm device is gone, the COW file is not
  const Diff vm_diff = compute_diff(desired_from(kFleet), o, {});  // kept: vm points into it
  const Change* vm = vm_diff.find(kWeb);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Repair);
  EXPECT_FALSE(vm->data_loss);
}

DiskHost host_facts() {
  DiskHost h;
  h.tag = "0badcafe";
  h.vms_dir = "/s/vms";
  return h;
}

TEST(DiskOrphans, RecordedDevicesAreKeptUnrecordedOnesGoInOrder) {
  ObservedState o = host_of(kFleet, "snapshot", 1 * GiB);
  o.disk_host = host_facts();
  const std::string tag = o.disk_host.tag;
  o.disk_host.dm = {{"banger-web", dm_uuid(tag, "web"), {"7:0", "7:1"}},
                    {"banger-old", dm_uuid(tag, "old"), {"7:0", "7:2"}},
                    {"banger-other", "BANGER-12345678-other", {"7:5"}},  // another state dir's
                    {"banger-user", "", {}}};                          // not banger's at all
  o.disk_host.loops = {{"/dev/loop0", "7:0", "/i/root.ext4", base_loop_label(tag), true},
                       {"/dev/loop1", "7:1", "/s/vms/web/cow.img", cow_loop_label(tag), true},
                       {"/dev/loop2", "7:2", "/s/vms/old/cow.img", cow_loop_label(tag), true},
                       {"/dev/loop3", "7:3", "/gone/base.img", base_loop_label(tag), false},
                       {"/dev/loop4", "7:4", "/i/root.ext4", base_loop_label(tag), false}};  // a second base
  o.disk_host.vm_dirs = {"web", "old"};
  DiskOrphans got = find_disk_orphans(o);
  EXPECT_EQ(got.dm, std::vector<std::string>{"banger-old"});
  std::vector<std::string> loops;
  for (const auto& l : got.loops) loops.push_back(l.device);
  EXPECT_EQ(loops, (std::vector<std::string>{"/dev/loop2", "/dev/loop3", "/dev/loop4"}));
  EXPECT_EQ(got.dirs, std::vector<std::string>{"/s/vms/old"});
  ASSERT_EQ(got.describe().size(), 5u);
  EXPECT_EQ(got.describe()[0], "device-mapper device banger-old (no VM record)");

  // The diff carries them and the plan sweeps them before any VM action.
  Diff diff = compute_diff(desired_from(kFleet), o, {});
  EXPECT_FALSE(diff.empty());
  Plan plan = make_plan(diff, desired_from(kFleet));
  ASSERT_FALSE(plan.actions.empty());
  EXPECT_EQ(plan.actions[0].type, ActionType::SweepDisks);
}

TEST(DiskOrphans, NoTagNoOrphans) {
  ObservedState o;
  o.disk_host.vm_dirs = {"x"};
  EXPECT_TRUE(find_disk_orphans(o).empty());
}

TEST(DiskCandidates, AutoPrefersReflinkThenSnapshotThenCopy) {
  DiskHost h = host_facts();
  std::string why;
  using V = std::vector<DiskMethod>;
  EXPECT_EQ(disk_candidates(DiskStrategy::Auto, h, GiB, 0, &why), V{DiskMethod::Copy});
  h.devmapper = true;
  EXPECT_EQ(disk_candidates(DiskStrategy::Auto, h, GiB, 0, &why), (V{DiskMethod::Snapshot, DiskMethod::Copy}));
  // A disk larger than the image cannot be a snapshot: auto skips it.
  EXPECT_EQ(disk_candidates(DiskStrategy::Auto, h, GiB, 2 * GiB, &why), V{DiskMethod::Copy});
  h.reflink = true;
  EXPECT_EQ(disk_candidates(DiskStrategy::Auto, h, GiB, GiB, &why),
            (V{DiskMethod::Reflink, DiskMethod::Snapshot, DiskMethod::Copy}));
  EXPECT_EQ(disk_candidates(DiskStrategy::Copy, h, GiB, 0, &why), V{DiskMethod::Copy});
  EXPECT_EQ(disk_candidates(DiskStrategy::Reflink, h, GiB, 0, &why), V{DiskMethod::Reflink});
  EXPECT_EQ(disk_candidates(DiskStrategy::Snapshot, h, GiB, 2 * GiB, &why), V{});
  EXPECT_NE(why.find("exactly as large as its image"), std::string::npos) << why;
  h.devmapper = false;
  h.devmapper_why = "no device-mapper in /proc/misc";
  EXPECT_EQ(disk_candidates(DiskStrategy::Snapshot, h, GiB, 0, &why), V{});
  EXPECT_NE(why.find("no device-mapper in /proc/misc"), std::string::npos) << why;
}

TEST(DiskRules, NamesAndTags) {
  EXPECT_EQ(dm_name("web"), "banger-web");
  std::string t = disk_owner_tag("/var/lib/banger");
  EXPECT_EQ(t.size(), 8u);
  EXPECT_EQ(t, disk_owner_tag("/var/lib/banger"));
  EXPECT_NE(t, disk_owner_tag("/tmp/other"));
  EXPECT_EQ(dm_uuid(t, "web"), "BANGER-" + t + "-web");
  EXPECT_LE(base_loop_label(t).size(), 63u);
}

}  // namespace
}  // namespace banger
