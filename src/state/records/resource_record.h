#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// A resource as last applied: what diff compares the manifests with.
struct ResourceRecord {
  std::string kind;  ///< "VM"
  std::string name;
  std::string spec_hash;
  int64_t generation = 1;  ///< +1 each time spec_hash changes
  std::string source_file;
  int64_t applied_at = 0;  ///< unix seconds
  std::string spec_json;   ///< flat {"field": "value"} of the applied spec, for field-level diffs

  static constexpr const char* kTable = "resources";
  static constexpr auto columns() {
    return std::tuple{column("kind", "kind", &ResourceRecord::kind),
                      column("name", "name", &ResourceRecord::name),
                      column("spec_hash", "specHash", &ResourceRecord::spec_hash),
                      column("generation", "generation", &ResourceRecord::generation),
                      column("source_file", "sourceFile", &ResourceRecord::source_file),
                      column("applied_at", "appliedAt", &ResourceRecord::applied_at),
                      column("spec_json", "spec", &ResourceRecord::spec_json, {.json_text = true})};
  }
};

}  // namespace banger
