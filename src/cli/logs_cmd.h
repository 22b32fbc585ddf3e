// `banger logs NAME [-f] [--tail N]`: a VM's serial console and hypervisor
// log (both go to one file in its run dir), like kubectl logs.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_logs_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
