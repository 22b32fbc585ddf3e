#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// A path artifact's sha256 as last computed. It holds while the file keeps
/// this size and mtime, so an unchanged file is never hashed twice.
struct ArtifactCheck {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;
  int64_t checked_at = 0;  ///< unix seconds

  static constexpr const char* kTable = "artifact_checks";
  static constexpr auto columns() {
    return std::tuple{column("path", "path", &ArtifactCheck::path),
                      column("size", "size", &ArtifactCheck::size),
                      column("mtime_ns", "mtimeNs", &ArtifactCheck::mtime_ns),
                      column("sha256", "sha256", &ArtifactCheck::sha256),
                      column("checked_at", "checkedAt", &ArtifactCheck::checked_at)};
  }
};

}  // namespace banger
