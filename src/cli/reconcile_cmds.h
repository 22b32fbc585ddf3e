// `banger diff`, `banger apply` and `banger delete`: the commands that run
// the reconciler.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_diff_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);
void add_apply_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);
void add_delete_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
