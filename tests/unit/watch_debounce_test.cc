// The watcher's pure timing: bursts coalesce, nothing runs while a burst
// settles, retries back off, the plan's retry time wakes the loop.
#include <gtest/gtest.h>

#include "reconciler/debounce.h"
#include "reconciler/watch_schedule.h"

namespace banger {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const Clock::time_point T0 = Clock::time_point() + 1000s;

TEST(DebouncerTest, NothingPendingHasNoDeadline) {
  Debouncer d(200ms, 2s);
  EXPECT_FALSE(d.pending());
  EXPECT_FALSE(d.deadline());
  EXPECT_FALSE(d.due(T0));
}

TEST(DebouncerTest, FiresAfterTheBurstGoesQuiet) {
  Debouncer d(200ms, 2s);
  // A git checkout: 50 writes 2 ms apart.
  for (int i = 0; i < 50; ++i) d.note(T0 + i * 2ms);
  EXPECT_EQ(*d.deadline(), T0 + 98ms + 200ms);
  EXPECT_FALSE(d.due(T0 + 297ms));
  EXPECT_TRUE(d.due(T0 + 298ms));
  d.clear();
  EXPECT_FALSE(d.pending());
}

TEST(DebouncerTest, EachEventPushesTheDeadline) {
  Debouncer d(200ms, 2s);
  d.note(T0);
  d.note(T0 + 150ms);  // an editor: temp file write, then the rename
  EXPECT_FALSE(d.due(T0 + 200ms));
  EXPECT_TRUE(d.due(T0 + 350ms));
}

TEST(DebouncerTest, AnEndlessBurstStillFiresAtMaxDelay) {
  Debouncer d(200ms, 2s);
  for (int i = 0; i < 100; ++i) d.note(T0 + i * 100ms);
  EXPECT_EQ(*d.deadline(), T0 + 2s);
}

TEST(DebouncerTest, MaxDelayIsNeverBelowQuiet) {
  Debouncer d(500ms, 100ms);
  d.note(T0);
  EXPECT_EQ(*d.deadline(), T0 + 500ms);
}

TEST(DebouncerTest, EventsOutOfOrderKeepTheLatest) {
  Debouncer d(200ms, 2s);
  d.note(T0 + 100ms);
  d.note(T0);
  EXPECT_EQ(*d.deadline(), T0 + 300ms);
}

WatchScheduleOptions opts() {
  WatchScheduleOptions o;
  o.debounce = 200ms;
  o.max_delay = 2s;
  o.resync = 30s;
  o.first_retry = 1s;
  o.min_gap = 50ms;
  return o;
}

TEST(WatchScheduleTest, StartRunsAtOnce) {
  WatchSchedule s(opts());
  s.request(WatchTrigger::Start);
  EXPECT_EQ(s.due(T0), WatchTrigger::Start);
  EXPECT_LE(*s.next_wake(), T0);
}

TEST(WatchScheduleTest, IdleWakesOnlyForResync) {
  WatchSchedule s(opts());
  s.request(WatchTrigger::Start);
  s.reconciled(T0, true, std::nullopt);
  EXPECT_EQ(s.due(T0 + 29s), WatchTrigger::None);
  EXPECT_EQ(*s.next_wake(), T0 + 30s);
  EXPECT_EQ(s.due(T0 + 30s), WatchTrigger::Resync);
}

TEST(WatchScheduleTest, FileBurstGivesOneReconcileAfterTheDebounce) {
  WatchSchedule s(opts());
  s.reconciled(T0, true, std::nullopt);
  for (int i = 0; i < 20; ++i) s.files_changed(T0 + 1s + i * 5ms);
  EXPECT_EQ(s.due(T0 + 1s + 100ms), WatchTrigger::None);
  EXPECT_EQ(*s.next_wake(), T0 + 1s + 95ms + 200ms);
  EXPECT_EQ(s.due(T0 + 1s + 295ms), WatchTrigger::Files);
  s.reconciled(T0 + 1s + 300ms, true, std::nullopt);
  EXPECT_EQ(s.due(T0 + 1s + 400ms), WatchTrigger::None);
  EXPECT_EQ(*s.next_wake(), T0 + 31s + 300ms) << "the resync counts from the last reconcile";
}

TEST(WatchScheduleTest, NothingRunsWhileABurstSettles) {
  WatchSchedule s(opts());
  s.reconciled(T0, true, std::nullopt);
  s.files_changed(T0 + 29'900ms);
  s.request(WatchTrigger::VmExit);
  // The resync and the VM exit are due, but the tree is mid-write.
  EXPECT_EQ(s.due(T0 + 30s), WatchTrigger::None);
  EXPECT_EQ(s.due(T0 + 30'100ms), WatchTrigger::VmExit);
}

TEST(WatchScheduleTest, VmExitAndSignalRunAtOnce) {
  WatchSchedule s(opts());
  s.reconciled(T0, true, std::nullopt);
  s.request(WatchTrigger::VmExit);
  EXPECT_EQ(s.due(T0 + 1ms), WatchTrigger::VmExit);
  s.reconciled(T0 + 2ms, true, std::nullopt);
  s.request(WatchTrigger::Signal);
  EXPECT_EQ(s.due(T0 + 3ms), WatchTrigger::Signal);
}

TEST(WatchScheduleTest, FailuresBackOffDoublingUpToTheResync) {
  WatchSchedule s(opts());
  Clock::time_point t = T0;
  std::vector<Clock::duration> waits;
  for (int i = 0; i < 8; ++i) {
    s.reconciled(t, false, std::nullopt);
    waits.push_back(*s.next_wake() - t);
    t = *s.next_wake();
    EXPECT_EQ(s.due(t), WatchTrigger::Retry);
  }
  std::vector<Clock::duration> want{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s};
  EXPECT_EQ(waits, want);
  EXPECT_EQ(s.failures(), 8);
  s.reconciled(t, true, std::nullopt);
  EXPECT_EQ(s.failures(), 0);
  EXPECT_EQ(*s.next_wake(), t + 30s);
}

TEST(WatchScheduleTest, PlanRetryTimeWakesTheLoop) {
  WatchSchedule s(opts());
  s.reconciled(T0, true, T0 + 4s);  // a VM in restart back-off
  EXPECT_EQ(*s.next_wake(), T0 + 4s);
  EXPECT_EQ(s.due(T0 + 4s), WatchTrigger::Retry);
}

TEST(WatchScheduleTest, RetryInThePastDoesNotSpin) {
  WatchSchedule s(opts());
  s.reconciled(T0, true, T0 - 1s);
  EXPECT_EQ(*s.next_wake(), T0 + 50ms);
  EXPECT_EQ(s.due(T0 + 10ms), WatchTrigger::None);
}

TEST(WatchScheduleTest, TriggerNamesForLogs) {
  EXPECT_STREQ(to_string(WatchTrigger::Files), "files changed");
  EXPECT_STREQ(to_string(WatchTrigger::VmExit), "VM exited");
  EXPECT_STREQ(to_string(WatchTrigger::Signal), "SIGHUP");
  EXPECT_STREQ(to_string(WatchTrigger::Resync), "resync");
}

}  // namespace
}  // namespace banger
