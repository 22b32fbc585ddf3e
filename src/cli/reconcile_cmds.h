// `banger diff`, `banger apply` and `banger delete`: the commands that run
// the reconciler.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>

#include "cli/options.h"
#include "reconciler/desired_state.h"
#include "reconciler/state_snapshot.h"
#include "resources/label_selector.h"
#include "resources/model.h"

namespace banger::cli {

void add_diff_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);
void add_apply_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);
void add_delete_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

/// What `node` converges of the manifests (placement), narrowed by -l when
/// given: what diff, apply and fleet diff plan for.
DesiredState desired_on_node(ManifestSet set, const NodeIdentity& node,
                             const std::optional<LabelSelector>& selector);

/// The node an export was taken on; for an export from before fleets,
/// this run's --node-name (else the hostname) and --node-labels.
NodeIdentity export_node(const StateSnapshot& snapshot, const GlobalOptions& g);

}  // namespace banger::cli
