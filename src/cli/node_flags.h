// Which node of a fleet this run is: the global --node-name and
// --node-labels (env BANGER_NODE_NAME, BANGER_NODE_LABELS), which placement
// (reconciler/placement.h) matches resources against.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/options.h"
#include "resources/model.h"

namespace banger::cli {

/// Adds --node-name and --node-labels to the top-level app.
void add_node_flags(CLI::App& app, GlobalOptions& g);

/// The node from the flags: the name given, else the hostname in lowercase
/// (not checked: a hostname that is no valid node name simply matches no
/// placement.node); labels as k=v,k2=v2. Throws std::runtime_error naming
/// the flag when a given value is not valid.
NodeIdentity node_identity(const GlobalOptions& g);

/// gethostname() as it is ("" when it fails): what state export records.
std::string hostname();

/// "runner-a" or "runner-a (role=runner,zone=b)": how commands name the node.
std::string node_text(const NodeIdentity& n);

}  // namespace banger::cli
