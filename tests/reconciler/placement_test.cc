// spec.placement and kind: Node, pure: which part of a fleet's manifests a
// node converges (reconciler/placement.h), how placements decode, and what
// validation says about placements against the declared Nodes.
#include "reconciler/placement.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "reconciler/desired_state.h"
#include "resources/manifest_loader.h"

namespace banger {
namespace {

const std::string kHead = "apiVersion: banger.dev/v1\n";

// Network lab, Kernel k, Image i (shared); VMs and forwards as given.
std::string fleet(const std::string& more) {
  return kHead + "kind: Network\nmetadata: {name: lab}\nspec: {subnet: 10.9.0.0/24}\n---\n" + kHead +
         "kind: Kernel\nmetadata: {name: k}\nspec: {path: /k/vmlinux}\n---\n" + kHead +
         "kind: Image\nmetadata: {name: i}\nspec: {path: /i/root.ext4}\n" + more;
}

std::string vm(const std::string& name, const std::string& extra = "") {
  return "---\n" + kHead + "kind: VM\nmetadata: {name: " + name + "}\nspec: {kernel: k, image: i, network: lab" +
         extra + "}\n";
}

std::string forward(const std::string& name, const std::string& to, int port, const std::string& extra = "") {
  return "---\n" + kHead + "kind: PortForward\nmetadata: {name: " + name + "}\nspec: {vm: " + to +
         ", hostPort: " + std::to_string(port) + ", guestPort: 80" + extra + "}\n";
}

std::string node(const std::string& name, const std::string& labels = "{}") {
  return "---\n" + kHead + "kind: Node\nmetadata: {name: " + name + ", labels: " + labels + "}\n";
}

LoadResult load(const std::string& yaml) { return load_texts({SourceText{"fleet.yaml", "/m", yaml}}); }

ManifestSet loaded(const std::string& yaml) {
  LoadResult r = load(yaml);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.diags.sorted().front().format());
  return r.set;
}

// "Kind/name" of everything placed, in kind and load order.
std::vector<std::string> names(const ManifestSet& s) {
  std::vector<std::string> out;
  for (const ResourceSpec& spec : make_desired(s).specs) out.push_back(spec.key.str());
  return out;
}

std::vector<std::string> errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Diagnostic& d : load(yaml).diags.sorted()) out.push_back(d.format());
  return out;
}

const NodeIdentity kA{"runner-a", {{"role", "ci"}, {"zone", "a"}}};
const NodeIdentity kB{"runner-b", {{"role", "ci"}, {"zone", "b"}}};

TEST(Placement, WithoutPlacementEveryNodeGetsEverything) {
  ManifestSet s = loaded(fleet(vm("web") + forward("web-http", "web", 8080)));
  EXPECT_FALSE(uses_placement(s));
  EXPECT_EQ(names(place_on_node(s, kA)), names(s));
  EXPECT_EQ(names(place_on_node(s, NodeIdentity{"anything", {}})), names(s));
}

TEST(Placement, ByNodeNameAndByNodeSelector) {
  ManifestSet s = loaded(fleet(vm("a", ", placement: {node: runner-a}") +
                               vm("zb", ", placement: {nodeSelector: {zone: b}}") +
                               vm("ci", ", placement: {nodeSelector: {role: ci, zone: a}}") + vm("all")));
  EXPECT_TRUE(uses_placement(s));
  auto vms = [](const ManifestSet& p) {
    std::vector<std::string> out;
    for (const VM& v : p.vms) out.push_back(v.name());
    return out;
  };
  EXPECT_EQ(vms(place_on_node(s, kA)), (std::vector<std::string>{"a", "ci", "all"}));
  EXPECT_EQ(vms(place_on_node(s, kB)), (std::vector<std::string>{"zb", "all"}));
  // Every pair of the selector must be among the node's labels, with its value.
  EXPECT_EQ(vms(place_on_node(s, NodeIdentity{"runner-a", {{"role", "ci"}}})), (std::vector<std::string>{"a", "all"}));
  EXPECT_EQ(vms(place_on_node(s, NodeIdentity{"other", {{"zone", "B"}}})), (std::vector<std::string>{"all"}));
}

TEST(Placement, AForwardGoesWithItsVmAndItsOwnPlacement) {
  ManifestSet s = loaded(fleet(vm("web", ", placement: {node: runner-a}") + vm("db") +
                               forward("web-http", "web", 8080) +  // no placement: where web is
                               forward("db-a", "db", 5432, ", placement: {node: runner-a}") +
                               forward("db-b", "db", 5433, ", placement: {nodeSelector: {zone: b}}")));
  EXPECT_EQ(names(place_on_node(s, kA)),
            (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "VM/web", "VM/db",
                                      "PortForward/web-http", "PortForward/db-a"}));
  EXPECT_EQ(names(place_on_node(s, kB)),
            (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "VM/db",
                                      "PortForward/db-b"}));
}

TEST(Placement, WhatAPlacedVmNeedsComesAlongWhateverItsOwnPlacement) {
  // The network, kernel and image are placed on runner-b only, yet the VM
  // on runner-a needs them: runner-a has them too.
  const std::string b = ", placement: {node: runner-b}}";
  std::string yaml = kHead + "kind: Network\nmetadata: {name: lab}\nspec: {subnet: 10.9.0.0/24" + b + "\n---\n" +
                     kHead + "kind: Kernel\nmetadata: {name: k}\nspec: {path: /k/vmlinux" + b + "\n---\n" + kHead +
                     "kind: Image\nmetadata: {name: i}\nspec: {path: /i/root.ext4" + b + "\n---\n" + kHead +
                     "kind: Image\nmetadata: {name: spare}\nspec: {path: /i/spare.ext4" + b + "\n" +
                     vm("web", ", placement: {node: runner-a}");
  ManifestSet s = loaded(yaml);
  EXPECT_EQ(names(place_on_node(s, kA)),
            (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "VM/web"}));
  // runner-b: its own placements, the VM elsewhere.
  EXPECT_EQ(names(place_on_node(s, kB)),
            (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "Image/spare"}));
}

TEST(Placement, MovingAVmBetweenNodesIsADeleteThereAndACreateHere) {
  // Placement shows no value: the moved VM's spec is the same on both
  // nodes, so one node's desired state loses it and the other's gains it.
  ManifestSet before = loaded(fleet(vm("web", ", placement: {node: runner-a}")));
  ManifestSet after = loaded(fleet(vm("web", ", placement: {node: runner-b}")));
  auto has_web = [](const ManifestSet& s, const NodeIdentity& n) {
    auto v = names(place_on_node(s, n));
    return std::count(v.begin(), v.end(), "VM/web") == 1;
  };
  EXPECT_TRUE(has_web(before, kA));
  EXPECT_FALSE(has_web(before, kB));
  EXPECT_FALSE(has_web(after, kA));
  EXPECT_TRUE(has_web(after, kB));
  DesiredState on_a = make_desired(place_on_node(before, kA)), on_b = make_desired(place_on_node(after, kB));
  EXPECT_EQ(on_a.find({Kind::VM, "web"})->hash(), on_b.find({Kind::VM, "web"})->hash());
}

TEST(Placement, DecodeErrorsNameFileLineResourceAndField) {
  auto e = errors(fleet(vm("a", ", placement: {}") + vm("b", ", placement: {node: a, nodeSelector: {x: y}}") +
                        vm("c", ", placement: {nodeSelector: {}}") + vm("d", ", placement: {node: Runner_A}") +
                        vm("e", ", placement: {nodeSelector: {zone: 1}}") + vm("f", ", placement: runner-a") +
                        vm("g", ", placement: {nodes: runner-a}")));
  ASSERT_EQ(e.size(), 7u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], "fleet.yaml:19:54: VM/a: spec.placement.node: is required (expected exactly one of node or "
                  "nodeSelector)");
  EXPECT_NE(e[1].find("VM/b: spec.placement.nodeSelector: node and nodeSelector are both set (expected exactly "
                      "one of them)"),
            std::string::npos)
      << e[1];
  EXPECT_NE(e[2].find("VM/c: spec.placement.nodeSelector: is empty, which would match every node"), std::string::npos)
      << e[2];
  EXPECT_NE(e[3].find("VM/d: spec.placement.node: \"Runner_A\" is not a valid node name"), std::string::npos) << e[3];
  EXPECT_NE(e[4].find("VM/e: spec.placement.nodeSelector.zone: 1 is an integer (expected a string"), std::string::npos)
      << e[4];
  EXPECT_NE(e[5].find("VM/f: spec.placement: \"runner-a\" is a string (expected a mapping)"), std::string::npos)
      << e[5];
  EXPECT_NE(e[6].find("VM/g: spec.placement.nodes: unknown field (did you mean \"node\"?)"), std::string::npos)
      << e[6];
}

TEST(Placement, WithDeclaredNodesAPlacementThatLandsNowhereIsAnError) {
  const std::string nodes = node("runner-a", "{role: ci, zone: a}") + node("runner-b", "{role: ci, zone: b}");
  EXPECT_EQ(errors(fleet(vm("web", ", placement: {node: runner-b}") + nodes)), std::vector<std::string>{});
  auto e = errors(fleet(vm("web", ", placement: {node: runner-c}") +
                        vm("gpu", ", placement: {nodeSelector: {role: gpu}}") + nodes));
  ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], "fleet.yaml:19:54: VM/web: spec.placement: node \"runner-c\" is not declared (expected one of the "
                  "Nodes: runner-a (role=ci,zone=a), runner-b (role=ci,zone=b); did you mean \"runner-a\"?)");
  EXPECT_EQ(e[1], "fleet.yaml:24:54: VM/gpu: spec.placement: nodeSelector role=gpu matches no declared Node "
                  "(expected labels that one of these has: runner-a (role=ci,zone=a), runner-b (role=ci,zone=b))");
  // Without Nodes, nothing to check against: any name may be a host's.
  EXPECT_EQ(errors(fleet(vm("web", ", placement: {node: runner-c}"))), std::vector<std::string>{});
  // Two Nodes of one name.
  e = errors(fleet(node("runner-a") + node("runner-a")));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("Node/runner-a: metadata.name: duplicate Node \"runner-a\""), std::string::npos) << e[0];
}

TEST(Placement, AForwardPlacedWhereItsVmNeverIsIsAnError) {
  auto e = errors(fleet(vm("web", ", placement: {node: runner-a}") +
                        forward("web-http", "web", 8080, ", placement: {node: runner-b}")));
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("PortForward/web-http: spec.placement: places the forward where VM/web never is"),
            std::string::npos)
      << e[0];
}

TEST(Placement, AddressesAndPortsClashOnlyWhereANodeRunsBoth) {
  // Pinned to different nodes: the same static IP and host port are fine.
  const std::string apart = vm("a", ", ip: 10.9.0.10, placement: {node: runner-a}") +
                            vm("b", ", ip: 10.9.0.10, placement: {node: runner-b}") +
                            forward("a-http", "a", 8080) + forward("b-http", "b", 8080);
  EXPECT_EQ(errors(fleet(apart)), std::vector<std::string>{});
  // One of them everywhere: it meets the other on its node.
  auto e = errors(fleet(vm("a", ", ip: 10.9.0.10") + vm("b", ", ip: 10.9.0.10, placement: {node: runner-b}") +
                        forward("a-http", "a", 8080) + forward("b-http", "b", 8080)));
  ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("VM/b: spec.ip: 10.9.0.10 is already used by VM/a"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("PortForward/b-http: spec.hostPort: 0.0.0.0:8080/tcp is already forwarded by "
                      "PortForward/a-http"),
            std::string::npos)
      << e[1];
  // Selectors: without Nodes any host may have both labels (a clash); with
  // Nodes, exactly where one Node has both.
  const std::string by_zone = vm("a", ", ip: 10.9.0.10, placement: {nodeSelector: {zone: a}}") +
                              vm("b", ", ip: 10.9.0.10, placement: {nodeSelector: {zone: b}}");
  EXPECT_EQ(errors(fleet(by_zone)).size(), 1u);
  EXPECT_EQ(errors(fleet(by_zone + node("runner-a", "{zone: a}") + node("runner-b", "{zone: b}"))),
            std::vector<std::string>{});
}

TEST(Placement, NodesAreNeverDesired) {
  ManifestSet s = loaded(fleet(vm("web") + node("runner-a")));
  EXPECT_EQ(s.nodes.size(), 1u);
  EXPECT_TRUE(uses_placement(s));
  EXPECT_TRUE(place_on_node(s, kA).nodes.empty());
  EXPECT_EQ(names(place_on_node(s, kA)),
            (std::vector<std::string>{"Network/lab", "Kernel/k", "Image/i", "VM/web"}));
}

}  // namespace
}  // namespace banger
