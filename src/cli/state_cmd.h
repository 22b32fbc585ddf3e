// `banger state export`: what banger applied on this host and what it observes
// there, as a file; and the reading side that `banger diff --against FILE`
// uses to compute the same plan anywhere, without root and without the host.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/options.h"
#include "reconciler/diff.h"
#include "reconciler/plan.h"
#include "reconciler/state_snapshot.h"

namespace banger::cli {

void add_state_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

/// Reads and parses an export. Throws SnapshotError naming `path` when it
/// cannot be read or is not an export this banger reads.
StateSnapshot read_state_export(const std::string& path);

/// The plan `banger diff` would print on the host the export was taken from,
/// at that moment: the live diff's compute_diff + make_plan, over the file,
/// with `oci:` tags pinned to the digests the export recorded.
Plan plan_against_export(DesiredState desired, const StateSnapshot& snapshot, const DiffOptions& opts);

}  // namespace banger::cli
