#include "resources/validate_fleet.h"

#include <algorithm>
#include <map>
#include <string>

#include "resources/label_selector.h"
#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

void error(Diagnostics& diags, const ObjectMeta& r, const Mark& at, const std::string& field, const std::string& msg) {
  diags.add(Diagnostic{at, kind_name(r.kind), r.name(), field, msg});
}

bool on_node(const std::vector<const Placement*>& all, const NodeIdentity& n) {
  return std::all_of(all.begin(), all.end(), [&](const Placement* p) { return p->matches(n); });
}

// "runner-a (role=runner), runner-b", at most a few.
std::string declared_nodes(const std::vector<NodeDecl>& nodes) {
  std::string out;
  size_t shown = 0;
  for (const NodeDecl& n : nodes) {
    if (++shown > 8) {
      out += ", ...";
      break;
    }
    out += (out.empty() ? "" : ", ") + printable(n.name()) +
           (n.metadata.labels.empty() ? "" : " (" + printable(format_labels(n.metadata.labels)) + ")");
  }
  return out;
}

void unique_nodes(const std::vector<NodeDecl>& nodes, Diagnostics& diags) {
  std::map<std::string, const NodeDecl*> seen;
  for (const NodeDecl& n : nodes) {
    auto [it, fresh] = seen.emplace(n.name(), &n);
    if (!fresh) {
      diags.add(Diagnostic{n.metadata.name_mark, kNodeKind, n.name(), "metadata.name",
                           "duplicate Node " + quote(n.name()) + " (also defined at " +
                               it->second->metadata.name_mark.str() + "; expected a unique name per kind)"});
    }
  }
}

// With declared Nodes: a placement that no Node takes lands nowhere.
template <class R>
void placements_land(const std::vector<R>& items, const std::vector<NodeDecl>& nodes, Diagnostics& diags) {
  for (const R& r : items) {
    const Placement& p = r.placement;
    if (!p.set || nodes.empty()) continue;
    if (std::any_of(nodes.begin(), nodes.end(), [&](const NodeDecl& n) { return p.matches(n.identity()); })) {
      continue;
    }
    if (!p.node.empty()) {
      std::vector<std::string> names;
      for (const NodeDecl& n : nodes) names.push_back(n.name());
      std::string guess = suggest(p.node, names);
      error(diags, r, p.mark, "spec.placement",
            "node " + quote(p.node) + " is not declared (expected one of the Nodes: " + declared_nodes(nodes) +
                (guess.empty() ? "" : "; did you mean " + quote(guess) + "?") + ")");
    } else {
      error(diags, r, p.mark, "spec.placement",
            "nodeSelector " + printable(format_labels(p.node_selector)) +
                " matches no declared Node (expected labels that one of these has: " + declared_nodes(nodes) + ")");
    }
  }
}

}  // namespace

bool FleetChecks::any_placement() const {
  auto placed = [](const auto& v) {
    return std::any_of(v.begin(), v.end(), [](const auto& r) { return r.placement.set; });
  };
  return placed(set_.vms) || placed(set_.port_forwards);
}

std::vector<const Placement*> FleetChecks::constraints(const PortForward& p) const {
  std::vector<const Placement*> out{&p.placement};
  if (const VM* vm = set_.find_vm(p.vm.value)) out.push_back(&vm->placement);
  return out;
}

bool FleetChecks::may_share_node(std::vector<const Placement*> a, const std::vector<const Placement*>& b) const {
  a.insert(a.end(), b.begin(), b.end());
  if (!set_.nodes.empty()) {
    return std::any_of(set_.nodes.begin(), set_.nodes.end(),
                       [&](const NodeDecl& n) { return on_node(a, n.identity()); });
  }
  std::string pinned;
  for (const Placement* p : a) {
    if (!p->set || p->node.empty()) continue;
    if (!pinned.empty() && pinned != p->node) return false;
    pinned = p->node;
  }
  return true;
}

void FleetChecks::check(Diagnostics& diags) const {
  unique_nodes(set_.nodes, diags);
  placements_land(set_.networks, set_.nodes, diags);
  placements_land(set_.kernels, set_.nodes, diags);
  placements_land(set_.images, set_.nodes, diags);
  placements_land(set_.vms, set_.nodes, diags);
  placements_land(set_.port_forwards, set_.nodes, diags);
  // A forward runs with its VM: placed where its VM cannot be, it runs nowhere.
  for (const PortForward& p : set_.port_forwards) {
    const VM* vm = set_.find_vm(p.vm.value);
    if (!p.placement.set || !vm || !vm->placement.set) continue;
    if (may_share_node({&p.placement}, {&vm->placement})) continue;
    error(diags, p, p.placement.mark, "spec.placement",
          "places the forward where " + resource_address(*vm) +
              " never is (expected a placement that takes a node of its VM's, or none: a forward goes with its VM)");
  }
}

}  // namespace banger
