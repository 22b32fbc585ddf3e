// The result of diff: one Change per resource that is not already right.
// Glyphs follow terraform: + create, ~ update, -/+ replace, - delete; and
// ! repair for drift of the host away from what was applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/desired_state.h"
#include "reconciler/spec.h"

namespace banger {

enum class ChangeType { Create, Update, Replace, Delete, Repair };
const char* glyph(ChangeType t);  ///< "+", "~", "-/+", "-", "!"
const char* to_string(ChangeType t);  ///< "create", "update", ...

struct FieldChange {
  std::string field;
  std::string before;  ///< "" for a field that is new
  std::string after;   ///< "" for a field that is gone
  FieldEffect effect = FieldEffect::InPlace;
};

struct Change {
  ResourceKey key;
  ChangeType type = ChangeType::Create;
  std::vector<FieldChange> fields;  ///< update/replace: what differs
  std::vector<std::string> drift;   ///< repair: what is wrong on the host
  bool restart = false;             ///< a running VM is stopped and started again
  std::string source_file;          ///< where the desired resource is declared
  /// VM repair: its process ended and restartPolicy (or back-off) says to
  /// leave it down for now; the rest of the VM is still repaired.
  bool keep_down = false;
};

struct Diff {
  std::vector<Change> changes;  ///< creates/updates in dependency order, deletes reversed
  /// Table `ip banger` differs from what the manifests imply in a way that no
  /// single resource's change covers (e.g. a rule added by hand).
  bool nat_drift = false;
  /// Earliest unix ms at which a VM held back by restart back-off is due.
  std::optional<int64_t> retry_at_ms;
  bool empty() const { return changes.empty() && !nat_drift; }
  const Change* find(const ResourceKey& key) const;
};

}  // namespace banger
