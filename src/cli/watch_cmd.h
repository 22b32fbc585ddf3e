// `banger watch DIR [--resync 30s] [--debounce 200ms] [--allow-empty]
// [--log-format text|json]`: keeps this host equal to a folder of manifests
// (reconciler/watcher.h) until SIGTERM/SIGINT; meant to run as a service
// (packaging/banger-watch.service).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_watch_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
