// plan: the diff as actions with a dependency graph. Pure: a Plan is a value
// that can be rendered, serialized and executed.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/change.h"
#include "reconciler/desired_state.h"

namespace banger {

enum class ActionType {
  EnsureNetwork,   ///< bridge, address, sysctls (create, update, replace, repair)
  DeleteNetwork,
  VerifyArtifact,  ///< a Kernel or Image: the file is there and matches sha256
  ForgetArtifact,
  EnsureVm,        ///< address, tap, disk, process (create, update, replace, repair)
  DeleteVm,
  SyncNat,         ///< table ip banger, replaced in one transaction
  SyncDns,         ///< each network's dnsmasq: its files written, started, reloaded or stopped
  RecordForward,   ///< a PortForward whose rules SyncNat wrote
  ForgetForward,
  SweepDisks,      ///< banger's dm devices, loops and VM folders that no record explains
  SweepOwned,      ///< objects and unfinished steps of owners banger no longer knows
};
const char* to_string(ActionType t);

struct Action {
  int id = 0;
  ActionType type{};
  ResourceKey key;        ///< empty name for SyncNat
  int change = -1;        ///< index into Plan::diff.changes, -1 for SyncNat
  std::vector<int> needs;  ///< must have succeeded: a failure there fails this one
  std::vector<int> after;  ///< must have finished, whatever the outcome
};

struct Plan {
  Diff diff;
  std::vector<Action> actions;
  /// The earliest time a VM held back by restart back-off should be looked
  /// at again (nullopt: none is). `banger watch` wakes up then.
  std::optional<std::chrono::system_clock::time_point> retry_at;
  bool empty() const { return actions.empty(); }
  const Change* change_of(const Action& a) const {
    return a.change >= 0 ? &diff.changes[static_cast<size_t>(a.change)] : nullptr;
  }
};

Plan make_plan(Diff diff, const DesiredState& desired);

}  // namespace banger
