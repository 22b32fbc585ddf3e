// The whole of "manifests in, DesiredState or errors out": read, parse,
// decode, default, cross-check. Touches nothing but the manifest files.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/loader.h"
#include "resources/model.h"

namespace banger {

struct LoadResult {
  ManifestSet set;
  Diagnostics diags;
  size_t documents = 0;
  bool ok() const { return diags.empty(); }
};

/// Pure: from texts already read. Files, and pieces of files over 64 KiB,
/// are parsed on up to `threads` threads (0: one per core); the result is
/// the same for any number.
LoadResult load_texts(const std::vector<SourceText>& sources, size_t threads = 0);
/// Reads `paths` ("-" = `in`), then as load_texts.
LoadResult load_manifests(const std::vector<std::string>& paths, std::istream& in);

}  // namespace banger
