// `-l SELECTOR` on diff, apply and delete: the resources of the manifests
// whose labels match, and what they need (a VM's network, kernel and image,
// a forward's VM), so that converging them alone is complete. Pure.
#pragma once

#include <map>
#include <string>

#include "resources/label_selector.h"
#include "resources/model.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

/// The selected resources of `set` and their dependencies, in load order.
ManifestSet select_resources(const ManifestSet& set, const LabelSelector& selector);

/// The labels a desired spec shows.
std::map<std::string, std::string> spec_labels(const ResourceSpec& s);

/// The labels a record holds (its shown "labels"); none for a record from
/// before labels were recorded.
std::map<std::string, std::string> record_labels(const ResourceRecord& r);

}  // namespace banger
