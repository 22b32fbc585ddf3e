#include "reconciler/placement.h"

#include <algorithm>

#include "reconciler/selection.h"

namespace banger {

ManifestSet place_on_node(const ManifestSet& set, const NodeIdentity& node) {
  // Unplaced networks, kernels and images are everywhere (as before fleets);
  // placed ones are here when they match or when a VM here needs them,
  // which select_with_dependencies adds.
  return select_with_dependencies(set, [&](const ObjectMeta& r) {
    if (!r.placement.matches(node)) return false;
    if (r.kind != Kind::PortForward) return true;
    // A forward goes with its VM: never to a node its VM is not on.
    const VM* vm = set.find_vm(static_cast<const PortForward&>(r).vm.value);
    return vm && vm->placement.matches(node);
  });
}

bool uses_placement(const ManifestSet& set) {
  auto placed = [](const auto& v) {
    return std::any_of(v.begin(), v.end(), [](const auto& r) { return r.placement.set; });
  };
  return !set.nodes.empty() || placed(set.networks) || placed(set.kernels) || placed(set.images) ||
         placed(set.vms) || placed(set.port_forwards);
}

}  // namespace banger
