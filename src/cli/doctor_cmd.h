// `banger doctor`: can this host run banger? One line per check.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_doctor_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
