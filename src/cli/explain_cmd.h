// `banger explain [KIND[.FIELD]] [-o json]`: what each manifest field is, its
// rule, default and effect on a running VM, as kubectl explain does. Printed
// from the field tables (resources/field_table.h), like schemas/.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

void add_explain_command(CLI::App& app, const GlobalOptions& global, std::function<int()>& run);

}  // namespace banger::cli
