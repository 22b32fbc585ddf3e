#include "cli/fleet_cmd.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/host_flags.h"
#include "cli/node_flags.h"
#include "cli/plan_render.h"
#include "cli/reconcile_cmds.h"
#include "cli/render.h"
#include "cli/state_cmd.h"
#include "resources/manifest_loader.h"

namespace banger::cli {

namespace {

using json = nlohmann::ordered_json;

struct FleetDiffOptions {
  std::vector<std::string> files;
  std::vector<std::string> against;  ///< export files, in the order given
  bool prune = false;
  std::string selector;
  std::string output;
};

struct HostPlan {
  std::string file;
  NodeIdentity node;
  Plan plan;
};

int run_fleet_diff(const FleetDiffOptions& o, const GlobalOptions& g) {
  std::optional<LabelSelector> selector;
  if (!parse_selector_flag(o.selector, selector)) return kExitError;
  // Invalid manifests: their errors and nothing else, as diff.
  LoadResult r = load_manifests(o.files, std::cin);
  if (!r.ok()) {
    if (o.output == "json") {
      std::cout << diagnostics_json(r.diags) << "\n";
    } else {
      print_diagnostics(std::cerr, r.diags);
    }
    return kExitError;
  }
  // Every export is read before anything is printed: a bad one is an error
  // naming it, not half a report.
  std::vector<StateSnapshot> snapshots;
  for (const std::string& f : o.against) snapshots.push_back(read_state_export(f));

  std::vector<HostPlan> hosts;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const StateSnapshot& snapshot = snapshots[i];
    HostPlan h{o.against[i], export_node(snapshot, g), {}};
    // What `diff -f DIR --against FILE` does, for this export's node.
    DesiredState desired = desired_on_node(r.set, h.node, selector);
    DiffOptions opts{o.prune};
    opts.prune_selector = selector;
    h.plan = plan_against_export(std::move(desired), snapshot, opts);
    hosts.push_back(std::move(h));
  }

  bool changes = false, refused = false;
  json all = json::array();
  for (const HostPlan& h : hosts) {
    changes = changes || !h.plan.empty();
    if (o.output == "json") {
      all.push_back({{"node", h.node.name},
                     {"labels", h.node.labels},
                     {"export", h.file},
                     {"plan", json::parse(plan_json(h.plan))}});
    } else {
      std::cout << (&h == &hosts.front() ? "" : "\n") << "== node " << node_text(h.node) << " (" << h.file
                << ") ==\n";
      render_plan(std::cout, h.plan);
    }
    // A change no apply can make is an error, as in diff.
    for (const Change& c : h.plan.diff.changes) {
      if (c.error.empty()) continue;
      std::cerr << "Error: node " << h.node.name << ": " << refusal_message(c) << "\n";
      refused = true;
    }
  }
  if (o.output == "json") std::cout << all.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  if (refused) return kExitError;
  return changes ? kExitChanges : kExitOk;
}

}  // namespace

void add_fleet_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  CLI::App* fleet = app.add_subcommand("fleet", "Work with every host of a fleet from one repository");
  fleet->require_subcommand(1);
  auto o = std::make_shared<FleetDiffOptions>();
  CLI::App* cmd = fleet->add_subcommand(
      "diff", "Show what apply would change on each host of a fleet, from their state exports");
  cmd->footer(
      "For each EXPORT (a 'banger state export' file of one host), the manifests placed for the node it\n"
      "recorded (spec.placement), planned as 'banger diff -f DIR --against EXPORT' plans them. No root,\n"
      "no host access.\n\n"
      "Examples:\n"
      "  banger fleet diff -f fleet/ --against exports/runner-a.json --against exports/runner-b.json\n"
      "  banger fleet diff -f fleet/ --prune --against exports/*.json -o json\n\n"
      "Exit status: 0 no host would change, 2 some host would, 1 error.");
  add_file_option(cmd, o->files);
  cmd->add_option("--against", o->against, "State export files of the fleet's hosts (repeatable)")
      ->required()
      ->type_name("EXPORT...");
  cmd->add_flag("--prune", o->prune,
                "Also show deletions of what a host applied that is no longer its (removed, or placed elsewhere)");
  cmd->add_option("-l,--selector", o->selector,
                  "Only the resources whose labels match, and what they need (kubectl's syntax)");
  add_output_option(cmd, o->output, {"json"});
  cmd->allow_extras();
  cmd->fallthrough();
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_fleet_diff(*o, g); }; });
}

}  // namespace banger::cli
