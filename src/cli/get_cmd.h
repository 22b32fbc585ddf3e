// `banger get [KIND [NAME]] [-o json|yaml|wide]`: what banger applied, with
// what is observed on the host now (kubectl get style).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_get_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
