// `banger validate -f PATH... [-o json]`: check manifests; never touches the host.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cli/options.h"

namespace banger::cli {

struct ValidateOptions {
  std::vector<std::string> files;
  std::string output;  // "" (human) or "json"
};

/// Registers the subcommand; `run` is set to what parsing selected.
void add_validate_command(CLI::App& app, const GlobalOptions& global, std::function<int()>& run);

int run_validate(const ValidateOptions& opts, const GlobalOptions& global);

}  // namespace banger::cli
