// What interrupted runs left, read back from the store: the journal's
// unfinished steps and the owned objects whose owner no record explains.
// Pure: observe fills ObservedState::journal and ::owned, diff calls these.
//
// One rule for every run that reconciles (apply, delete, each watch cycle):
// - an unfinished step whose owner banger still knows is finished by that
//   owner's action: the diff plans it (a repair when nothing else differs)
//   and its success closes the owner's entries (Store::journal_end_owner);
// - an object whose owner banger no longer knows is removed, and the entries
//   nothing will finish are closed (the SweepOwned action).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "reconciler/observed_state.h"

namespace banger {

struct OwnedOrphans {
  std::vector<OwnedObject> objects;   ///< owner gone: removed, then forgotten
  std::vector<JournalEntry> entries;  ///< steps nothing will finish: closed
  /// VMs among the gone owners: hypervisors they left are killed first.
  std::set<std::string> vms;
  bool empty() const { return objects.empty() && entries.empty(); }
  /// One line per object or step, for the plan.
  std::vector<std::string> describe() const;
};

/// `planned`: resources the diff already changes. Their objects are adopted
/// by that change (ensure is idempotent), not removed.
OwnedOrphans find_owned_orphans(const ObservedState& o, const std::set<ResourceKey>& planned);

/// The steps ("tap.ensure") an interrupted run left unfinished for `key`.
std::vector<std::string> unfinished_steps(const ObservedState& o, const ResourceKey& key);

/// The object types a sweep can remove; others (a newer banger's) are kept.
bool sweepable_type(const std::string& type);

}  // namespace banger
