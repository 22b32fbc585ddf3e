// The files spec.guest names, read when manifests are loaded.
#pragma once

#include <string>

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger {

/// Reads every VM's authorizedKeysFiles and userDataFile into the model;
/// a missing, oversized or malformed file is a diagnostic on the field.
/// `within` (watch's folder): a file outside it is refused, not read.
void load_guest_files(ManifestSet& set, Diagnostics& diags, const std::string& within = "");

}  // namespace banger
