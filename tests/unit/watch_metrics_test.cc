// The watcher's metrics in Prometheus' text format 0.0.4: every sample line
// is NAME{LABELS} VALUE under its HELP and TYPE, histogram buckets are
// cumulative and end at +Inf, label values are escaped.
#include "reconciler/watch_metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace banger {
namespace {

TEST(WatchMetrics, TextFormatCountsAndCumulativeBuckets) {
  WatchMetrics m;
  m.reconciled("converged", 0.3, 2, 1795622000);
  m.reconciled("unchanged", 0.02, 0, 1795622030);
  m.reconciled("failed", 7.0, 1, 1795622060);
  m.action("ensure-vm", "succeeded");
  m.action("ensure-vm", "succeeded");
  m.action("sync-nat", "failed");
  VmGauges g;
  g.vms[{"running", "true", "firecracker"}] = 2;
  g.vms[{"down", "false", ""}] = 1;
  g.restarts["we\"b"] = 3;
  const std::string t = m.render(g);

  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eInf]+$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(t);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(std::regex_match(line, sample) || std::regex_match(line, comment)) << line;
  }
  EXPECT_NE(t.find("banger_reconciles_total{result=\"converged\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("banger_reconciles_total{result=\"failed\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE banger_reconcile_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_bucket{le=\"0.025\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_bucket{le=\"0.5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_bucket{le=\"10\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("banger_reconcile_duration_seconds_sum 7.32\n"), std::string::npos) << t;
  EXPECT_NE(t.find("banger_actions_total{kind=\"ensure-vm\",outcome=\"succeeded\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("banger_drift_repairs_total 3\n"), std::string::npos);
  EXPECT_NE(t.find("banger_last_successful_reconcile_timestamp_seconds 1795622030\n"), std::string::npos)
      << "a failed reconcile is not a success";
  EXPECT_NE(t.find("banger_vms{state=\"running\",ready=\"true\",runtime=\"firecracker\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("banger_vm_restarts_total{vm=\"we\\\"b\"} 3\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace banger
