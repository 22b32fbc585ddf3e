// `banger gc [--dry-run]`: removes what no applied resource uses from the
// state dir (today: the artifact store), under the host lock.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_gc_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
