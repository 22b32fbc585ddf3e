// One YAML document -> one typed resource, with every problem reported.
#pragma once

#include <map>
#include <string>

#include "resources/diagnostic.h"
#include "resources/doc_reader.h"
#include "resources/loader.h"
#include "resources/model.h"

namespace banger {

/// What a Node's metadata.name and placement.node must be.
inline const std::string kNodeNameRule =
    "a node name: DNS-1123 labels joined by '.', at most 253 characters, lowercase letters, digits and '-'";

/// Reads a mapping of Kubernetes labels (metadata.labels,
/// spec.placement.nodeSelector) into `out`; every bad key or value is
/// reported under `path`.
void decode_label_map(DocReader& r, const DocReader::Entry& e, const std::string& path,
                      std::map<std::string, std::string>& out);

/// Appends the resource to `out` when its kind and name could be read (even
/// if some spec fields were wrong, so that cross-resource checks still see
/// it); every problem goes to `diags`.
void decode_document(const Document& doc, ManifestSet& out, Diagnostics& diags);

}  // namespace banger
