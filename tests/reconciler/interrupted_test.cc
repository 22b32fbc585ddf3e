// What the diff makes of an interrupted run's journal entries and owned
// records (reconciler/interrupted.h): finish for known owners, sweep for
// gone ones.
#include "reconciler/interrupted.h"

#include <gtest/gtest.h>

#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/plan.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

ObservedState converged_with_nat(const DesiredState& d) {
  ObservedState o = converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  return o;
}

TEST(Interrupted, AnUnfinishedStepOfAnAppliedResourceIsARepairEvenWhenTheHostLooksRight) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  ASSERT_TRUE(compute_diff(d, o, {}).empty());
  o.journal.push_back(JournalEntry{7, "ensure", "tap", "bg-123", "VM/web", 0});
  Diff diff = compute_diff(d, o, {});
  ASSERT_EQ(diff.changes.size(), 1u);
  EXPECT_EQ(diff.changes[0].key.str(), "VM/web");
  EXPECT_EQ(diff.changes[0].type, ChangeType::Repair);
  ASSERT_EQ(diff.changes[0].drift.size(), 1u);
  EXPECT_EQ(diff.changes[0].drift[0], "an interrupted run left tap.ensure bg-123 unfinished");
  EXPECT_TRUE(diff.owned_orphans.empty());
}

TEST(Interrupted, ABridgeWhoseNetworkWasNeverRecordedAndIsNoLongerWantedIsSwept) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = converged_with_nat(d);
  o.owned.push_back(OwnedObject{"bridge", "bg-old", "Network/old"});
  o.owned.push_back(OwnedObject{"bridge", "bg-lab", "Network/lab"});  // known: kept
  o.journal.push_back(JournalEntry{3, "ensure", "bridge", "bg-old", "Network/old", 0});
  Diff diff = compute_diff(d, o, {});
  EXPECT_TRUE(diff.changes.empty());
  ASSERT_EQ(diff.owned_orphans.objects.size(), 1u);
  EXPECT_EQ(diff.owned_orphans.objects[0].id, "bg-old");
  ASSERT_EQ(diff.owned_orphans.entries.size(), 1u);
  EXPECT_FALSE(diff.empty());
  EXPECT_EQ(diff.owned_orphans.describe(),
            (std::vector<std::string>{"bridge bg-old of Network/old (no record)",
                                      "unfinished step bridge.ensure bg-old of Network/old"}));
}

TEST(Interrupted, AnOwnerTheManifestsStillWantIsAdoptedNotSwept) {
  DesiredState d = desired_from(kFleet);
  ObservedState o;  // nothing applied: the network's create was cut short
  o.owned.push_back(OwnedObject{"bridge", "bg-lab", "Network/lab"});
  o.journal.push_back(JournalEntry{1, "ensure", "bridge", "bg-lab", "Network/lab", 0});
  Diff diff = compute_diff(d, o, {});
  EXPECT_TRUE(diff.owned_orphans.empty());
  ASSERT_NE(diff.find({Kind::Network, "lab"}), nullptr);
  EXPECT_EQ(diff.find({Kind::Network, "lab"})->type, ChangeType::Create);
}

TEST(Interrupted, AVmRecordKeepsItsObjectsAndAGoneVmsProcessesAreReaped) {
  ObservedState o;
  o.vms["half"] = VmRecord{"half", "lab", "10.0.0.2", "", "bg-half", "/s/vms/half/disk.img"};
  o.owned.push_back(OwnedObject{"tap", "bg-half", "VM/half"});
  o.owned.push_back(OwnedObject{"rundir", "/run/banger/vms/gone", "VM/gone"});
  o.journal.push_back(JournalEntry{4, "start", "process", "gone", "VM/gone", 0});
  o.journal.push_back(JournalEntry{5, "replace", "nft-table", "ip banger", "banger", 0});
  o.owned.push_back(OwnedObject{"nft-table", "ip banger", "banger"});
  OwnedOrphans orphans = find_owned_orphans(o, {});
  ASSERT_EQ(orphans.objects.size(), 1u);
  EXPECT_EQ(orphans.objects[0].id, "/run/banger/vms/gone");
  EXPECT_EQ(orphans.vms, (std::set<std::string>{"gone"}));
  // Host-wide entries (the nft table's) have no owner to finish them.
  EXPECT_EQ(orphans.entries.size(), 2u);
}

TEST(Interrupted, AnObjectTypeThisBuildDoesNotKnowIsLeftAlone) {
  ObservedState o;
  o.owned.push_back(OwnedObject{"volume", "/x", "VM/gone"});
  EXPECT_TRUE(find_owned_orphans(o, {}).objects.empty());
}

TEST(Interrupted, TheSweepRunsBeforeEveryOtherAction) {
  DesiredState d = desired_from(kFleet);
  ObservedState o;
  o.owned.push_back(OwnedObject{"bridge", "bg-old", "Network/old"});
  Plan plan = make_plan(compute_diff(d, o, {}), d);
  int sweep = -1;
  for (const Action& a : plan.actions) {
    if (a.type == ActionType::SweepOwned) sweep = a.id;
  }
  ASSERT_GE(sweep, 0);
  for (const Action& a : plan.actions) {
    if (a.id == sweep) continue;
    EXPECT_NE(std::find(a.after.begin(), a.after.end(), sweep), a.after.end()) << to_string(a.type);
  }
}

}  // namespace
}  // namespace banger
