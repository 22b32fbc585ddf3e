// `banger fleet diff -f DIR --against EXPORT...`: one repository, every
// host of the fleet. For each host's `state export`, the manifests placed
// for the node the export recorded, planned exactly as
// `banger diff --against EXPORT` plans them; one plan per host, so that CI
// shows a pull request's pending changes on the whole fleet at once.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_fleet_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
