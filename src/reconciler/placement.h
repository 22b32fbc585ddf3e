// spec.placement: which resources of a fleet's manifests this node
// converges. Pure: a ManifestSet and the node's identity in, the part of
// the set that is this node's out. Applied after loading (validation sees
// the whole fleet) and before make_desired, by validate (for reporting),
// diff, apply, delete -f, watch and fleet diff alike.
//
// The rule:
// - a resource without placement is on every node (one host without
//   --node-name or placements behaves as before fleets existed);
// - a resource with placement is on this node when it matches
//   (Placement::matches: node equals --node-name, or every nodeSelector
//   pair is among --node-labels);
// - a PortForward is on a node only when its VM is, and its own
//   placement (if any) matches too;
// - the Networks, Kernels and Images that the VMs on this node need come
//   along whatever their own placement says.
// Everything else is not desired here, so apply --prune and watch delete
// what was placed elsewhere (a VM moved from A to B is deleted on A).
#pragma once

#include "resources/model.h"

namespace banger {

/// The resources of `set` that `node` converges, in load order.
ManifestSet place_on_node(const ManifestSet& set, const NodeIdentity& node);

/// Whether any resource of `set` has a placement, or any Node is declared:
/// a repository that is a fleet (commands then say which node they plan for).
bool uses_placement(const ManifestSet& set);

}  // namespace banger
