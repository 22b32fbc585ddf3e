// Output shared by commands: diagnostics as text or JSON, resource summaries,
// and the flags that select them.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger::cli {

/// `-f/--filename PATH`, repeatable, one value each ("-" = standard input).
void add_file_option(CLI::App* cmd, std::vector<std::string>& files);
/// `-o/--output FORMAT` limited to `formats`.
void add_output_option(CLI::App* cmd, std::string& output, std::vector<std::string> formats);

/// One line per diagnostic, sorted by file and position.
void print_diagnostics(std::ostream& out, const Diagnostics& diags);
/// [{"file","line","column","kind","name","field","message"}...], sorted.
std::string diagnostics_json(const Diagnostics& diags);

/// "1 Network, 1 Kernel, 1 Image, 3 VMs, 3 PortForwards"; kinds with none are left out.
std::string summarize(const ManifestSet& set);
/// KIND/NAME, a few key fields, and where it was declared; one row per resource.
void print_resource_table(std::ostream& out, const ManifestSet& set);

/// A table row: (column, value) pairs, the same columns in every row.
using Row = std::vector<std::pair<std::string, std::string>>;
/// Columns padded to their widest value under a header line, as kubectl
/// prints them. Nothing for no rows.
void print_table(const std::vector<Row>& rows);

}  // namespace banger::cli
