// Checks across resources, after each document decoded on its own:
// references, unique names, addresses, subnets, bridges and forwards.
#pragma once

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger {

/// Adds the built-in "default" network when no manifest declares one, and
/// fills defaults that depend on a resource's name (a network's bridge).
void complete_defaults(ManifestSet& set);

/// Reports every cross-resource problem. Pure: looks at `set` only.
void validate_references(const ManifestSet& set, Diagnostics& diags);

/// diskSize and diskStrategy against the sizes of Image files the loader
/// found (ArtifactSource::known_size), and Image paths that are not files.
/// Pure: the loader stats the files first.
void validate_disks(const ManifestSet& set, Diagnostics& diags);

}  // namespace banger
