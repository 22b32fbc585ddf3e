// A fleet of two hosts from one folder of manifests, end to end: host A is
// the test's private network namespace with ROOT/state and ROOT/run, host B
// a second namespace (netns_scope.h) with ROOT/b/state and ROOT/b/run, each
// running the real banger on the strict fake Firecracker with its own
// --node-name and --node-labels. Each converges only what is placed on it;
// moving a VM's placement from A to B deletes it on A and creates it on B;
// `fleet diff` over both hosts' exports shows each host's pending plan.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <memory>

#include "host_e2e.h"
#include "netns_scope.h"

namespace {

using banger::test::CommandResult;
using banger::test::InNetns;
using banger::test::Netns;

struct Placements {
  std::string web = "{node: runner-a}";
  std::string web_memory = "128Mi";
};

class FleetE2E : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    host_b_ = std::make_unique<Netns>();
    sparse_file("rootfs.ext4", 1 << 20);
    dir_->write("exports/.keep", "");
    write(Placements{});
  }

  void TearDown() override {
    if (!dir_) return;
    // Everything either host applied carries e2e=fleet, whichever node the
    // manifests place it on now.
    on_a({"delete", "-l", "e2e=fleet", "--ignore-not-found"});
    if (host_b_) on_b({"delete", "-l", "e2e=fleet", "--ignore-not-found"});
    HostE2E::TearDown();  // also kills whatever still runs from ROOT, B's processes included
    host_b_.reset();      // B's links and nft table go with its namespace
  }

  // The fleet's repository: shared Network, Kernel and Image; web placed
  // as given; db on zone b by selector; tools on every host; web's forward
  // goes with web.
  void write(const Placements& p) {
    auto doc = [](const std::string& kind, const std::string& name, const std::string& spec) {
      return "---\napiVersion: banger.dev/v1\nkind: " + kind + "\nmetadata: {name: " + name +
             ", labels: {e2e: fleet}}\nspec: " + spec + "\n";
    };
    auto vm = [&](const std::string& name, const std::string& memory, const std::string& placement) {
      return doc("VM", name,
                 "{kernel: k, image: img, network: lab, memory: " + memory +
                     ", runtime: firecracker, diskStrategy: copy" +
                     (placement.empty() ? "" : ", placement: " + placement) + "}");
    };
    dir_->write("m/shared.yaml", doc("Network", "lab", "{subnet: 10.85.0.0/24, dns: {enabled: false}}") +
                                     doc("Kernel", "k", "{path: " + root() + "/vmlinux}") +
                                     doc("Image", "img", "{path: " + root() + "/rootfs.ext4}"));
    dir_->write("m/vms.yaml", vm("web", p.web_memory, p.web) + vm("db", "128Mi", "{nodeSelector: {zone: b}}") +
                                  vm("tools", "64Mi", "") +
                                  doc("PortForward", "web-http", "{vm: web, hostPort: 18085, guestPort: 80}"));
    dir_->write("m/nodes.yaml",
                "apiVersion: banger.dev/v1\nkind: Node\nmetadata: {name: runner-a, labels: {zone: a}}\n---\n"
                "apiVersion: banger.dev/v1\nkind: Node\nmetadata: {name: runner-b, labels: {zone: b}}\n");
  }

  std::string root_b() const { return root() + "/b"; }

  CommandResult on_a(std::vector<std::string> args) {
    args.insert(args.end(), {"--node-name", "runner-a", "--node-labels", "zone=a"});
    return banger(args);
  }
  CommandResult on_b(std::vector<std::string> args) {
    args.insert(args.end(), {"--node-name", "runner-b", "--node-labels", "zone=b"});
    InNetns in(*host_b_);  // banger, and the VM processes it starts, in B's namespace
    return banger::test::run_banger_in(root_b(), args, stop_timeout_);
  }

  // "Kind/name" of what a host applied (get -o json), in get's order.
  std::vector<std::string> applied(CommandResult r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    if (r.exit_code != 0) return out;
    const nlohmann::json list = nlohmann::json::parse(r.out);
    for (const auto& item : list["items"]) {
      out.push_back(item["kind"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>());
    }
    return out;
  }

  // The links a host has (ip -o link), to see which taps exist where.
  std::string links_in_b() {
    InNetns in(*host_b_);
    return banger::test::sh("ip -o link").out;
  }

  std::unique_ptr<Netns> host_b_;
};

TEST_F(FleetE2E, EachHostConvergesItsOwnPartAndAMoveDeletesOnOneAndCreatesOnTheOther) {
  auto a = on_a({"apply", "-f", manifest_dir(), "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto b = on_b({"apply", "-f", manifest_dir(), "--prune"});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  EXPECT_EQ(applied(on_a({"get", "-o", "json"})),
            (std::vector<std::string>{"VM/tools", "VM/web", "Network/lab", "PortForward/web-http", "Kernel/k",
                                      "Image/img"}));
  EXPECT_EQ(applied(on_b({"get", "-o", "json"})),
            (std::vector<std::string>{"VM/db", "VM/tools", "Network/lab", "Kernel/k", "Image/img"}));
  EXPECT_EQ(banger::test::vm_status_in(root(), "web")["STATE"], "Running");
  // get names the node it lists.
  auto g = on_b({"get"});
  EXPECT_EQ(g.out.rfind("Node: runner-b (zone=b)\n\nVMs:\n", 0), 0u) << g.out;
  auto gj = nlohmann::json::parse(on_a({"get", "-o", "json"}).out);
  EXPECT_EQ(gj["metadata"]["node"], (nlohmann::json{{"name", "runner-a"}, {"labels", {{"zone", "a"}}}}));
  // The host's own namespace saw none of B's links, and B none of A's VMs.
  EXPECT_NE(links_in_b().find("bg-lab"), std::string::npos) << "B has its own bridge, in its own namespace";

  // Both hosts export; nothing is pending for either.
  ASSERT_EQ(on_a({"state", "export", "--file", root() + "/exports/a.json"}).exit_code, 0);
  ASSERT_EQ(on_b({"state", "export", "--file", root() + "/exports/b.json"}).exit_code, 0);
  auto ja = nlohmann::json::parse(std::ifstream(root() + "/exports/a.json"));
  EXPECT_EQ(ja["host"]["node"], (nlohmann::json{{"name", "runner-a"}, {"labels", {{"zone", "a"}}}}));
  const std::vector<std::string> fleet_diff{"fleet", "diff", "-f", manifest_dir(), "--prune", "--against",
                                            root() + "/exports/a.json", root() + "/exports/b.json"};
  auto f = banger(fleet_diff);
  EXPECT_EQ(f.exit_code, 0) << f.out << f.err;
  EXPECT_EQ(f.out, "== node runner-a (zone=a) (" + root() +
                       "/exports/a.json) ==\nNo changes. The host matches the manifests.\n\n"
                       "== node runner-b (zone=b) (" + root() +
                       "/exports/b.json) ==\nNo changes. The host matches the manifests.\n");

  // A change in the repository: web moves to runner-b (and grows). Before
  // any host applies it, fleet diff over the exports shows both plans.
  write(Placements{"{nodeSelector: {zone: b}}", "256Mi"});
  f = banger(fleet_diff);
  EXPECT_EQ(f.exit_code, 2) << f.out << f.err;
  // A: web and its forward leave. B: they come (its plan says the
  // runtime each VM it starts gets, judged on B's exported facts).
  const std::string plan_a = "== node runner-a (zone=a) (" + root() +
                             "/exports/a.json) ==\n"
                             "  - PortForward/web-http\n  - VM/web\n\n"
                             "Plan: 0 to create, 0 to update, 0 to replace, 0 to repair, 2 to delete.\n\n";
  EXPECT_EQ(f.out.substr(0, plan_a.size()), plan_a) << f.out;
  const std::string plan_b = f.out.substr(std::min(plan_a.size(), f.out.size()));
  EXPECT_EQ(plan_b.rfind("== node runner-b (zone=b) (" + root() + "/exports/b.json) ==\n  + VM/web\n", 0), 0u)
      << plan_b;
  EXPECT_NE(plan_b.find("\n  + PortForward/web-http\n\n"
                        "Plan: 2 to create, 0 to update, 0 to replace, 0 to repair, 0 to delete.\n"),
            std::string::npos)
      << plan_b;
  // Without --prune, A keeps what left it (as diff without --prune).
  auto no_prune = banger({"fleet", "diff", "-f", manifest_dir(), "--against", root() + "/exports/a.json"});
  EXPECT_EQ(no_prune.exit_code, 0) << no_prune.out;

  // Re-applied on both: web is deleted on A and created on B.
  a = on_a({"apply", "-f", manifest_dir(), "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("- VM/web"), std::string::npos) << a.out;
  b = on_b({"apply", "-f", manifest_dir(), "--prune"});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  EXPECT_NE(b.out.find("+ VM/web"), std::string::npos) << b.out;
  EXPECT_EQ(applied(on_a({"get", "-o", "json"})),
            (std::vector<std::string>{"VM/tools", "Network/lab", "Kernel/k", "Image/img"}));
  EXPECT_EQ(applied(on_b({"get", "-o", "json"})),
            (std::vector<std::string>{"VM/db", "VM/tools", "VM/web", "Network/lab", "PortForward/web-http",
                                      "Kernel/k", "Image/img"}));
  auto web_b = nlohmann::json::parse(on_b({"get", "vm", "web", "-o", "json"}).out)["items"][0];
  EXPECT_EQ(web_b["spec"]["memory"], "256Mi");
  EXPECT_EQ(web_b["status"]["STATE"], "Running");
  EXPECT_EQ(on_a({"get", "vm", "web"}).exit_code, 1) << "web is gone from A";

  // Fresh exports: nothing pending anywhere, exit 0; a live diff on each
  // host agrees.
  ASSERT_EQ(on_a({"state", "export", "--file", root() + "/exports/a.json"}).exit_code, 0);
  ASSERT_EQ(on_b({"state", "export", "--file", root() + "/exports/b.json"}).exit_code, 0);
  f = banger(fleet_diff);
  EXPECT_EQ(f.exit_code, 0) << f.out << f.err;
  EXPECT_EQ(on_a({"diff", "-f", manifest_dir(), "--prune"}).exit_code, 0);
  EXPECT_EQ(on_b({"diff", "-f", manifest_dir(), "--prune"}).exit_code, 0);
}

TEST_F(FleetE2E, DeleteFromTheManifestsTakesOnlyThisNodesPart) {
  ASSERT_EQ(on_a({"apply", "-f", manifest_dir()}).exit_code, 0);
  ASSERT_EQ(on_b({"apply", "-f", manifest_dir()}).exit_code, 0);
  // delete -f on B: B's VMs and what they need; A keeps its own.
  auto d = on_b({"delete", "-f", manifest_dir()});
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_EQ(applied(on_b({"get", "-o", "json"})), std::vector<std::string>{});
  EXPECT_EQ(applied(on_a({"get", "-o", "json"})),
            (std::vector<std::string>{"VM/tools", "VM/web", "Network/lab", "PortForward/web-http", "Kernel/k",
                                      "Image/img"}));
}

}  // namespace
