// `banger images`: the images pulled from OCI registries into the state dir,
// with the digest, platform, size on disk and the Kernels and Images that
// use each.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_images_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run);

}  // namespace banger::cli
