// `banger completion bash|zsh|fish`: completion scripts made from the CLI's
// own definitions (commands, flags, -o values, kinds), so they never drift;
// resource names come from the host's state through a hidden `__complete`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

/// Call after every other command is added: the scripts list what exists then.
void add_completion_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
