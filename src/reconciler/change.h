// The result of diff: one Change per resource that is not already right.
// Glyphs follow terraform: + create, ~ update, -/+ replace, - delete; and
// ! repair for drift of the host away from what was applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/desired_state.h"
#include "reconciler/disk_rules.h"
#include "reconciler/interrupted.h"
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
  /// VM replace: its disk is made anew from the image and its data is lost.
  /// apply does it only when --replace names the VM (replace_accepted).
  bool data_loss = false;
  bool replace_accepted = false;
  /// What apply cannot do as the manifests say (shrink a disk, grow a
  /// snapshot): apply refuses the whole plan, diff exits 1.
  std::string error;
  std::vector<std::string> notes;  ///< extra lines for the plan ("replacement requested with --replace")
  /// VM update/replace: a field that needs a reboot or a new disk changed,
  /// so a process still on record is stopped before anything else, running
  /// or not (a stale one is cleaned up). Decided here; ensure_vm obeys.
  bool stop_first = false;
  /// apply must not carry this change out as it stands.
  bool refused() const { return !error.empty() || (data_loss && !replace_accepted); }
};

/// Why apply refuses `c` (Change::refused), with what to do about it:
/// "VM/x: " + refusal_reason(c).
std::string refusal_message(const Change& c);
/// The same without the resource's name, for where a line names it already.
std::string refusal_reason(const Change& c);

struct Diff {
  std::vector<Change> changes;  ///< creates/updates in dependency order, deletes reversed
  /// Table `ip banger` differs from what the manifests imply in a way that no
  /// single resource's change covers (e.g. a rule added by hand).
  bool nat_drift = false;
  /// Earliest unix ms at which a VM held back by restart back-off is due.
  std::optional<int64_t> retry_at_ms;
  /// banger's dm devices, loop devices and VM folders that no record
  /// explains (a crash); apply removes them first.
  DiskOrphans disk_orphans;
  /// What interrupted runs left for owners banger no longer knows; apply
  /// removes it before anything else.
  OwnedOrphans owned_orphans;
  /// DNS servers (by network) whose network is gone or has DNS off.
  std::vector<std::string> dns_orphans;
  /// The network DNS servers need rewriting (sync-dns): names may have
  /// changed, or a server is to go.
  bool dns_sync = false;
  bool empty() const {
    return changes.empty() && !nat_drift && disk_orphans.empty() && owned_orphans.empty() && dns_orphans.empty();
  }
  /// Changes that apply must refuse (Change::refused).
  std::vector<const Change*> refused() const;
  const Change* find(const ResourceKey& key) const;
};

}  // namespace banger
