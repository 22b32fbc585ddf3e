// A fleet from one repository, through the binary and without root:
// --node-name/--node-labels, what validate says each node converges,
// `diff --against` an export placing the manifests for the export's node,
// `fleet diff` printing one plan per host, and explain for placement and
// Node. The two-host end-to-end run is tests/drivers/fleet_e2e_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_command.h"

using banger::test::run_banger;
using banger::test::run_command;
using banger::test::TempDir;

namespace {

std::string fleet_dir() { return std::string(BANGER_SOURCE_DIR) + "/examples/fleet"; }

// An export of a host where banger applied nothing, taken on `node`
// ("" = an export from before fleets, without host.node).
std::string empty_export(const std::string& node, const std::string& labels_json = "{}") {
  std::string host_node = node.empty() ? "" : R"(, "node": {"name": ")" + node + R"(", "labels": )" + labels_json + "}";
  return R"({"apiVersion": "banger.dev/v1", "kind": "StateExport", "schemaVersion": 1,
  "metadata": {"host": "h", "exportedAt": "2026-11-25T14:50:00Z", "bangerVersion": "0.1.0", "stateDir": "/s"},
  "records": {"resources": [], "vms": [], "runtimes": [], "restarts": []},
  "host": {"observedAtMs": 1, "running": [], "exits": [], "disksPresent": [], "links": [],
           "nat": {"tableExists": false, "rulesByOwner": {}}, "ipForward": false)" +
         host_node + "}}\n";
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(FleetCli, ValidateSaysWhatThisNodeConverges) {
  auto a = run_banger({"validate", "-f", fleet_dir(), "--node-name", "runner-a", "--node-labels", "role=ci,zone=a"});
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out,
            "valid: 1 Network, 1 Kernel, 1 Image, 3 VMs, 2 PortForwards, 2 Nodes\n"
            "on node runner-a (role=ci,zone=a): 1 Network, 1 Kernel, 1 Image, 2 VMs, 1 PortForward\n");
  // The same from the environment, as a unit's env file sets it.
  auto env = run_command({"/usr/bin/env", "BANGER_NODE_NAME=runner-b", "BANGER_NODE_LABELS=zone=b", BANGER_BIN,
                          "validate", "-v", "-f", fleet_dir()});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_NE(env.out.find("on node runner-b (zone=b): 1 Network, 1 Kernel, 1 Image, 1 VM, 1 PortForward\n"),
            std::string::npos)
      << env.out;
  // -v lists this node's part only.
  EXPECT_NE(env.out.find("VM/build-b"), std::string::npos) << env.out;
  EXPECT_EQ(env.out.find("VM/build-a"), std::string::npos) << env.out;
  EXPECT_EQ(env.out.find("VM/cache"), std::string::npos) << env.out;
}

TEST(FleetCli, BadNodeFlagsAreErrorsBeforeAnything) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--node-name", "Runner_A"}, {"--node-labels", "role"}, {"--node-labels", "role=ci,role=x"},
           {"--node-labels", "bad key=x"}, {"--node-labels", "k=-x-"}}) {
    auto r = run_banger(with({"validate", "-f", fleet_dir()}, args));
    EXPECT_EQ(r.exit_code, 1) << args[1];
    EXPECT_EQ(r.out, "") << args[1];
    EXPECT_EQ(r.err.rfind("error: " + args[0] + " (or BANGER_NODE_", 0), 0u) << r.err;
  }
  auto r = run_banger({"validate", "-f", fleet_dir(), "--node-name", "Runner_A"});
  EXPECT_EQ(r.err, "error: --node-name (or BANGER_NODE_NAME) \"Runner_A\" is not a valid node name (expected a "
                   "node name: DNS-1123 labels joined by '.', at most 253 characters, lowercase letters, digits "
                   "and '-')\n");
  r = run_banger({"validate", "-f", fleet_dir(), "--node-labels", "role=ci,zone"});
  EXPECT_EQ(r.err, "error: --node-labels (or BANGER_NODE_LABELS) \"role=ci,zone\": \"zone\" has no '=' (expected "
                   "key=value)\n");
  auto env = run_command({"/usr/bin/env", "BANGER_NODE_LABELS=x=@", BANGER_BIN, "validate", "-f", fleet_dir()});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("\"x=@\" has no valid label value"), std::string::npos) << env.err;
}

TEST(FleetCli, DiffAgainstAnExportPlansForTheExportsNode) {
  TempDir dir;
  const std::string a = dir.write("a.json", empty_export("runner-a", R"({"role": "ci", "zone": "a"})"));
  auto d = run_banger({"diff", "-f", fleet_dir(), "--against", a});
  EXPECT_EQ(d.exit_code, 2) << d.err;
  EXPECT_EQ(d.out,
            "  + Network/ci\n  + Kernel/debian-12\n  + Image/builder\n  + VM/build-a\n  + VM/cache\n"
            "  + PortForward/build-a-ssh\n\nPlan: 6 to create, 0 to update, 0 to replace, 0 to repair, 0 to delete.\n");
  // An export from before fleets: --node-name says which node it was.
  const std::string old = dir.write("old.json", empty_export(""));
  d = run_banger({"diff", "-f", fleet_dir(), "--against", old, "--node-name", "runner-b"});
  EXPECT_EQ(d.exit_code, 2) << d.err;
  EXPECT_NE(d.out.find("+ VM/build-b\n"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("VM/build-a"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("VM/cache"), std::string::npos) << d.out;
  // An export that knows its node wins over --node-name, which is named.
  d = run_banger({"diff", "-f", fleet_dir(), "--against", a, "--node-name", "runner-b"});
  EXPECT_EQ(d.exit_code, 2) << d.err;
  EXPECT_NE(d.out.find("+ VM/build-a\n"), std::string::npos) << d.out;
  EXPECT_EQ(d.err, "Warning: the export was taken on node runner-a: planning for it, not for --node-name runner-b\n");
}

TEST(FleetCli, FleetDiffPrintsOnePlanPerHost) {
  TempDir dir;
  const std::string a = dir.write("exports/a.json", empty_export("runner-a", R"({"role": "ci", "zone": "a"})"));
  const std::string b = dir.write("exports/b.json", empty_export("runner-b", R"({"zone": "b"})"));
  auto f = run_banger({"fleet", "diff", "-f", fleet_dir(), "--against", a, "--against", b});
  EXPECT_EQ(f.exit_code, 2) << f.err;
  EXPECT_EQ(f.err, "");
  EXPECT_EQ(f.out, "== node runner-a (role=ci,zone=a) (" + a +
                       ") ==\n"
                       "  + Network/ci\n  + Kernel/debian-12\n  + Image/builder\n  + VM/build-a\n  + VM/cache\n"
                       "  + PortForward/build-a-ssh\n\n"
                       "Plan: 6 to create, 0 to update, 0 to replace, 0 to repair, 0 to delete.\n\n"
                       "== node runner-b (zone=b) (" + b +
                       ") ==\n"
                       "  + Network/ci\n  + Kernel/debian-12\n  + Image/builder\n  + VM/build-b\n"
                       "  + PortForward/build-b-ssh\n\n"
                       "Plan: 5 to create, 0 to update, 0 to replace, 0 to repair, 0 to delete.\n");
  // Several exports after one --against; JSON: one entry per host.
  auto j = run_banger({"fleet", "diff", "-f", fleet_dir(), "--against", a, b, "-o", "json"});
  EXPECT_EQ(j.exit_code, 2) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc.size(), 2u) << j.out;
  EXPECT_EQ(doc[0]["node"], "runner-a");
  EXPECT_EQ(doc[0]["labels"], (nlohmann::json{{"role", "ci"}, {"zone", "a"}}));
  EXPECT_EQ(doc[0]["export"], a);
  EXPECT_EQ(doc[0]["plan"]["changed"], true);
  EXPECT_EQ(doc[0]["plan"]["summary"]["create"], 6);
  EXPECT_EQ(doc[1]["node"], "runner-b");
  EXPECT_EQ(doc[1]["plan"]["summary"]["create"], 5);

  // A repository with nothing for a host: that host's plan is empty; the
  // exit code says whether any host would change.
  const std::string c = dir.write("exports/c.json", empty_export("runner-c"));
  TempDir repo;
  repo.write("vm.yaml",
             "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: /k, placement: {node: "
             "runner-a}}\n");
  auto none = run_banger({"fleet", "diff", "-f", repo.path(), "--against", c});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "== node runner-c (" + c + ") ==\nNo changes. The host matches the manifests.\n");
  auto some = run_banger({"fleet", "diff", "-f", repo.path(), "--against", c, a});
  EXPECT_EQ(some.exit_code, 2) << some.err;
}

TEST(FleetCli, FleetDiffErrorsPrintNothingElse) {
  TempDir dir;
  const std::string a = dir.write("a.json", empty_export("runner-a"));
  // Invalid manifests: only their errors.
  const std::string bad = dir.write("bad/vm.yaml", "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                                                   "spec: {path: /k, placement: {node: runner-x}}\n---\n"
                                                   "apiVersion: banger.dev/v1\nkind: Node\nmetadata: {name: runner-a}\n");
  auto r = run_banger({"fleet", "diff", "-f", dir.path() + "/bad", "--against", a});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, bad + ":4:29: Kernel/k: spec.placement: node \"runner-x\" is not declared (expected one of the "
                         "Nodes: runner-a; did you mean \"runner-a\"?)\n");
  // A bad export among good ones: an error naming it, no plan printed.
  const std::string junk = dir.write("junk.json", "{}");
  r = run_banger({"fleet", "diff", "-f", fleet_dir(), "--against", a, junk});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(junk + ": not a banger state export"), std::string::npos) << r.err;
  // --against is required; fleet needs its subcommand.
  EXPECT_EQ(run_banger({"fleet", "diff", "-f", fleet_dir()}).exit_code, 1);
  EXPECT_EQ(run_banger({"fleet"}).exit_code, 1);
}

TEST(FleetCli, ExplainPlacementAndNode) {
  auto p = run_banger({"explain", "vm.placement"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("placement\n    Which hosts of a fleet keep this resource"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("On change: decides which hosts keep it"), std::string::npos) << p.out;
  for (const char* kind : {"network", "kernel", "image", "portforward"}) {
    EXPECT_EQ(run_banger({"explain", std::string(kind) + ".placement"}).exit_code, 0) << kind;
  }
  auto n = run_banger({"explain", "node"});
  EXPECT_EQ(n.exit_code, 0) << n.err;
  EXPECT_EQ(n.out.rfind("KIND: Node\n", 0), 0u) << n.out;
  auto all = nlohmann::json::parse(run_banger({"explain", "-o", "json"}).out);
  EXPECT_EQ(all.back()["kind"], "Node");
  EXPECT_EQ(all.back()["fields"], nlohmann::json::array());
  EXPECT_EQ(run_banger({"explain", "node.labels"}).exit_code, 1);
}

}  // namespace
