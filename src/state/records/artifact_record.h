#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// A verified download in STATE/artifacts/sha256/<sha256>.
struct ArtifactRecord {
  std::string sha256;
  std::string url;
  int64_t size = 0;
  int64_t fetched_at = 0;  ///< unix seconds

  static constexpr const char* kTable = "artifacts";
  static constexpr auto columns() {
    return std::tuple{column("sha256", "sha256", &ArtifactRecord::sha256),
                      column("url", "url", &ArtifactRecord::url),
                      column("size", "size", &ArtifactRecord::size),
                      column("fetched_at", "fetchedAt", &ArtifactRecord::fetched_at)};
  }
};

}  // namespace banger
