// One YAML document -> one typed resource, with every problem reported.
#pragma once

#include "resources/diagnostic.h"
#include "resources/loader.h"
#include "resources/model.h"

namespace banger {

/// Appends the resource to `out` when its kind and name could be read (even
/// if some spec fields were wrong, so that cross-resource checks still see
/// it); every problem goes to `diags`.
void decode_document(const Document& doc, ManifestSet& out, Diagnostics& diags);

}  // namespace banger
