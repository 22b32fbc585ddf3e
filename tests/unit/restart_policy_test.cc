// restartPolicy and back-off decisions, and the reaper's exit-status format.
#include <gtest/gtest.h>

#include "drivers/process.h"
#include "reconciler/restart_policy.h"

namespace banger {
namespace {

using K = RestartDecision::Kind;

// A VM started at t=1000 s that exited at `exit_s` with `code` (-signal).
struct Case {
  VmRuntime rt{"web", 42, 7, "/fc", "", "", "firecracker", 1000};
  std::optional<ExitStatus> exit;
  Case(int64_t exit_s, int code) {
    exit = ExitStatus{code < 0, code < 0 ? -code : code, exit_s * 1000};
  }
};

TEST(Backoff, DoublesFromOneSecondUpToFiveMinutes) {
  EXPECT_EQ(backoff_ms(0), 1000);
  EXPECT_EQ(backoff_ms(1), 2000);
  EXPECT_EQ(backoff_ms(4), 16000);
  EXPECT_EQ(backoff_ms(8), 256000);
  EXPECT_EQ(backoff_ms(9), 300000);
  EXPECT_EQ(backoff_ms(1000), 300000);
}

TEST(RestartPolicy, RunningOrNeverStartedIsNotAnExit) {
  Case c(1005, 1);
  EXPECT_EQ(decide_restart("always", &c.rt, true, c.exit, nullptr, 2000000).kind, K::NotExited);
  EXPECT_EQ(decide_restart("always", nullptr, false, std::nullopt, nullptr, 2000000).kind, K::NotExited);
}

TEST(RestartPolicy, AlwaysRestartsAfterTheFirstSecond) {
  Case c(1005, -9);
  auto early = decide_restart("always", &c.rt, false, c.exit, nullptr, 1005500);
  EXPECT_EQ(early.kind, K::Wait);
  EXPECT_EQ(early.at_ms, 1006000);
  EXPECT_EQ(early.exit, "killed by signal 9");
  auto due = decide_restart("always", &c.rt, false, c.exit, nullptr, 1006000);
  EXPECT_EQ(due.kind, K::Restart);
  EXPECT_EQ(due.reason, "process killed by signal 9; restart 1 in a row");
  // A clean exit (guest poweroff) is restarted too under always.
  Case clean(1005, 0);
  EXPECT_EQ(decide_restart("always", &clean.rt, false, clean.exit, nullptr, 1007000).kind, K::Restart);
}

TEST(RestartPolicy, OnFailureLeavesACleanExitDown) {
  Case clean(1005, 0), crash(1005, 1);
  auto d = decide_restart("on-failure", &clean.rt, false, clean.exit, nullptr, 1007000);
  EXPECT_EQ(d.kind, K::Stay);
  EXPECT_EQ(d.reason, "exited 0 (clean); restartPolicy on-failure leaves it down");
  EXPECT_EQ(decide_restart("on-failure", &crash.rt, false, crash.exit, nullptr, 1007000).kind, K::Restart);
  // No exit record (the reaper was killed too): not known to be clean.
  EXPECT_EQ(decide_restart("on-failure", &crash.rt, false, std::nullopt, nullptr, 1007000).kind, K::Restart);
}

TEST(RestartPolicy, NeverLeavesItDown) {
  Case crash(1005, 1);
  auto d = decide_restart("never", &crash.rt, false, crash.exit, nullptr, 9999999);
  EXPECT_EQ(d.kind, K::Stay);
  EXPECT_EQ(d.exit, "exited 1");
}

TEST(RestartPolicy, BackOffGrowsWithRestartsInARowAndResetsAfterTenMinutesUp) {
  Case c(1010, 1);  // ran 10 s
  RestartRecord rec{"web", 5, 5, "exited 1", 0};
  auto d = decide_restart("always", &c.rt, false, c.exit, &rec, 1011000);
  EXPECT_EQ(d.kind, K::Wait);
  EXPECT_EQ(d.at_ms, 1010000 + 32000);
  Case longrun(1000 + 600, 1);  // ran 10 min
  auto reset = decide_restart("always", &longrun.rt, false, longrun.exit, &rec, 1601000);
  EXPECT_EQ(reset.kind, K::Restart);
  EXPECT_EQ(reset.at_ms, 1601000);
}

TEST(RestartPolicy, AnUnknownExitTimeCountsFromTheStartSoTheBackOffEnds) {
  VmRuntime rt{"web", 42, 7, "/fc", "", "", "firecracker", 1000};
  auto d = decide_restart("always", &rt, false, std::nullopt, nullptr, 1000500);
  EXPECT_EQ(d.kind, K::Wait);
  EXPECT_EQ(d.at_ms, 1001000);
  EXPECT_EQ(d.exit, "unknown");
}

TEST(RestartRecord, CountsRestartsAndTheRunOfThem) {
  Case c(1010, 1);
  RestartRecord first = next_restart_record("web", nullptr, c.rt, c.exit, 1012000);
  EXPECT_EQ(first.restarts, 1);
  EXPECT_EQ(first.consecutive, 1);
  EXPECT_EQ(first.last_exit, "exited 1");
  EXPECT_EQ(first.last_exit_at, 1010000);
  RestartRecord second = next_restart_record("web", &first, c.rt, c.exit, 1013000);
  EXPECT_EQ(second.restarts, 2);
  EXPECT_EQ(second.consecutive, 2);
  Case longrun(1000 + 700, -15);
  RestartRecord after_long = next_restart_record("web", &second, longrun.rt, longrun.exit, 1701000);
  EXPECT_EQ(after_long.restarts, 3);
  EXPECT_EQ(after_long.consecutive, 1);
  EXPECT_EQ(after_long.last_exit, "killed by signal 15");
}

TEST(ExitStatusFile, ParsesWhatTheReaperWrites) {
  auto e = parse_exit_status("exited 3 1700000000123\n");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->signaled);
  EXPECT_EQ(e->code, 3);
  EXPECT_EQ(e->at_ms, 1700000000123);
  EXPECT_FALSE(e->clean());
  auto s = parse_exit_status("signal 9 5\n");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->signaled);
  EXPECT_EQ(s->str(), "killed by signal 9");
  EXPECT_TRUE(parse_exit_status("exited 0 1")->clean());
  EXPECT_FALSE(parse_exit_status(""));
  EXPECT_FALSE(parse_exit_status("exited"));
  EXPECT_FALSE(parse_exit_status("crashed 1 1"));
  EXPECT_FALSE(parse_exit_status("exited 300 1"));
}

}  // namespace
}  // namespace banger
