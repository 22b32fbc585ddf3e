// diff: desired vs observed -> the changes that would make them equal. Pure.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "resources/label_selector.h"
#include "reconciler/change.h"
#include "reconciler/desired_state.h"
#include "reconciler/observed_state.h"

namespace banger {

struct DiffOptions {
  /// Delete what banger applied earlier that the manifests no longer name.
  bool prune = false;
  /// With prune: delete only resources whose recorded source file lies in
  /// this folder (a normalized absolute path, see reconciler/source_path.h);
  /// what was applied from elsewhere is left alone. `banger watch DIR` sets it.
  std::optional<std::string> prune_under;
  /// Hold back restarts of crashed VMs until their back-off elapsed (the
  /// watcher). A person's `apply` restarts them at once; restartPolicy
  /// itself is honoured either way.
  bool respect_backoff = false;
  /// VMs whose disk is to be made anew (`apply --replace VM/NAME`, as
  /// terraform's -replace): replaced even when nothing changed, and the data
  /// loss of an Image change is accepted for them.
  std::set<ResourceKey> replace;
  /// With prune and `-l`: delete only resources whose recorded labels match;
  /// what the selector leaves out is never pruned.
  std::optional<LabelSelector> prune_selector;
};

Diff compute_diff(const DesiredState& desired, const ObservedState& observed,
                  const DiffOptions& opts);

}  // namespace banger

namespace banger {
/// Delete changes for those of `keys` that banger applied, in reverse
/// dependency order (forwards, VMs, images, kernels, networks).
Diff deletion_diff(const std::set<ResourceKey>& keys, const ObservedState& observed);
}  // namespace banger
