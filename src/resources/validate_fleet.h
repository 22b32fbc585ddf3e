// The checks a fleet's manifests need beyond one host's (spec.placement,
// kind: Node): which resources one node may run together, so that
// addresses and ports only clash there, and, with Nodes declared,
// placements that land on none of them. Pure: looks at the set only.
#pragma once

#include <vector>

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger {

class FleetChecks {
 public:
  explicit FleetChecks(const ManifestSet& set) : set_(set) {}

  /// Whether any VM or PortForward is placed (else every pair may meet).
  bool any_placement() const;
  /// Where a forward can be: where both it and its VM are placed.
  std::vector<const Placement*> constraints(const PortForward& p) const;
  /// Whether one node may converge resources placed so. With declared
  /// Nodes, exactly; without, only two different `node` names tell for
  /// sure (any host may carry any labels).
  bool may_share_node(std::vector<const Placement*> a, const std::vector<const Placement*>& b) const;

  /// Duplicate Node names; with Nodes declared, placements no Node takes;
  /// forwards placed where their VM never is.
  void check(Diagnostics& diags) const;

 private:
  const ManifestSet& set_;
};

}  // namespace banger
