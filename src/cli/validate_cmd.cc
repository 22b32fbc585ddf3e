#include "cli/validate_cmd.h"

#include <iostream>
#include <memory>

#include "cli/node_flags.h"
#include "cli/render.h"
#include "reconciler/placement.h"
#include "resources/manifest_loader.h"

namespace banger::cli {

void add_validate_command(CLI::App& app, const GlobalOptions& global, std::function<int()>& run) {
  auto opts = std::make_shared<ValidateOptions>();
  CLI::App* cmd = app.add_subcommand("validate", "Check manifests without touching the host");
  cmd->footer(
      "Examples:\n"
      "  # Check every *.yaml under a folder\n"
      "  banger validate -f examples/manifests\n\n"
      "  # Check a file read from standard input, errors as JSON\n"
      "  cat vm.yaml | banger validate -f - -o json\n\n"
      "Exit status: 0 valid, 1 invalid.");
  add_file_option(cmd, opts->files);
  add_output_option(cmd, opts->output, {"json"});
  cmd->callback([&run, opts, &global] { run = [opts, &global] { return run_validate(*opts, global); }; });
}

int run_validate(const ValidateOptions& opts, const GlobalOptions& global) {
  const NodeIdentity node = node_identity(global);  // bad flags: an error before anything is read
  LoadResult r = load_manifests(opts.files, std::cin);
  if (opts.output == "json") {
    std::cout << diagnostics_json(r.diags) << "\n";
  } else if (!r.ok()) {
    print_diagnostics(std::cerr, r.diags);
  } else if (!global.quiet) {
    std::cout << "valid: " << summarize(r.set) << "\n";
    // A fleet's repository: what this node (--node-name, --node-labels)
    // would converge of it, as diff and apply place it.
    ManifestSet placed;
    const bool fleet = uses_placement(r.set);
    if (fleet) {
      placed = place_on_node(r.set, node);
      std::cout << "on node " << node_text(node) << ": " << summarize(placed) << "\n";
    }
    if (global.verbose) print_resource_table(std::cout, fleet ? placed : r.set);
  }
  return r.ok() ? kExitOk : kExitError;
}

}  // namespace banger::cli
