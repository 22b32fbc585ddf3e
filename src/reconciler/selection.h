// `-l SELECTOR` on diff, apply and delete: the resources of the manifests
// whose labels match, and what they need (a VM's network, kernel and image,
// a forward's VM), so that converging them alone is complete. Pure.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "resources/label_selector.h"
#include "resources/model.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

/// Which resources a selection takes by themselves, before dependencies.
/// Forwards are judged first, then VMs, then what VMs need.
using Wanted = std::function<bool(const ObjectMeta&)>;

/// The resources of `set` that `wanted` takes, and what they need, in load
/// order: a taken forward brings its VM; a taken VM its network, kernel and
/// image (and the built-in default network comes with the VMs on it).
/// Declared Nodes are left out: they are never converged.
ManifestSet select_with_dependencies(const ManifestSet& set, const Wanted& wanted);

/// The selected resources of `set` and their dependencies, in load order.
ManifestSet select_resources(const ManifestSet& set, const LabelSelector& selector);

/// The labels a desired spec shows.
std::map<std::string, std::string> spec_labels(const ResourceSpec& s);

/// The labels a record holds (its shown "labels"); none for a record from
/// before labels were recorded.
std::map<std::string, std::string> record_labels(const ResourceRecord& r);

}  // namespace banger
