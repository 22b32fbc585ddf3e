// The files spec.guest names, read when manifests are loaded.
#pragma once

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger {

/// Reads every VM's authorizedKeysFiles and userDataFile into the model;
/// a missing, oversized or malformed file is a diagnostic on the field.
void load_guest_files(ManifestSet& set, Diagnostics& diags);

}  // namespace banger
