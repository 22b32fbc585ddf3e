#include "cli/reconcile_cmds.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "cli/host_flags.h"
#include "cli/node_flags.h"
#include "cli/outcome_text.h"
#include "cli/plan_render.h"
#include "cli/readiness_report.h"
#include "cli/render.h"
#include "cli/state_cmd.h"
#include "common/profile.h"
#include "drivers/download_progress.h"
#include "reconciler/artifact_gc.h"
#include "reconciler/desired_state.h"
#include "reconciler/oci_resolve.h"
#include "reconciler/placement.h"
#include "reconciler/selection.h"
#include "reconciler/session.h"
#include "resources/manifest_loader.h"

namespace banger::cli {

namespace {

struct ReconcileOptions {
  std::vector<std::string> files;
  std::vector<std::string> target;  // delete KIND NAME
  std::string output;
  bool prune = false;
  bool dry_run = false;
  bool ignore_not_found = false;
  bool wait = false;  // apply --wait: until the VMs it touched are ready
  std::vector<std::string> replace;  // --replace VM/NAME: make its disk anew
  std::string selector;              // -l: only resources whose labels match
  HostFlags host;
};

std::atomic<bool> g_stop{false};

// Ctrl-C / SIGTERM: start nothing new, let running actions finish (they are
// journaled), then report. A second Ctrl-C gets the default behaviour.
void install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool load(const ReconcileOptions& o, LoadResult& r) {
  {
    profile::Scope p("load");
    r = load_manifests(o.files, std::cin);
  }
  if (r.ok()) return true;
  if (o.output == "json") {
    std::cout << diagnostics_json(r.diags) << "\n";
  } else {
    print_diagnostics(std::cerr, r.diags);
  }
  return false;
}

// --replace VM/NAME (also vm/NAME, VM NAME is not a thing): each must name a
// VM of the manifests, the only kind with a disk to make anew.
bool parse_replace(const ReconcileOptions& o, const DesiredState& desired, DiffOptions& opts) {
  for (const std::string& r : o.replace) {
    auto slash = r.find('/');
    auto kind = slash == std::string::npos ? std::nullopt : parse_kind_alias(r.substr(0, slash));
    if (!kind || *kind != Kind::VM) {
      std::cerr << "error: --replace " << r << ": expected VM/NAME (only a VM has a disk to make anew)\n";
      return false;
    }
    ResourceKey key{Kind::VM, r.substr(slash + 1)};
    if (!desired.find(key)) {
      std::cerr << "error: --replace " << r << ": " << key.str() << " is not in the manifests\n";
      return false;
    }
    opts.replace.insert(key);
  }
  return true;
}

// A plan that would lose a disk's data without --replace, or that asks for
// what a disk cannot do, is refused whole, before anything changes.
bool refuse(const Plan& plan) {
  auto refused = plan.diff.refused();
  if (refused.empty()) return false;
  for (const Change* c : refused) std::cerr << "Error: " << refusal_message(*c) << "\n";
  return true;
}

// Runs the plan with a progress line per finished action; returns the exit code.
int execute_plan(Session& s, const Plan& plan, const DesiredState& desired, const ReconcileOptions& o,
                 const GlobalOptions& g, const std::string& verb) {
  install_stop_handler();
  std::mutex out_mu;
  bool human = o.output != "json";
  auto progress = [&](const Action& a, const ActionReport* r) {
    if (!human || g.quiet) return;
    std::lock_guard lock(out_mu);
    clear_download_line();  // a download bar on the same terminal
    if (!r) {
      if (g.verbose) std::cout << describe_action(a) << ": " << to_string(a.type) << "...\n";
      return;
    }
    std::ostringstream secs;
    secs << std::fixed << std::setprecision(1) << r->seconds;
    std::cout << describe_action(a) << ": "
              << report_text(*r)
              << " [" << secs.str() << "s]\n"
              << std::flush;
  };
  if (human && !g.quiet) std::cout << "\n";
  ExecutionReport report = s.execute(plan, desired, g_stop, progress);
  if (human) {
    std::cout << "\n";
    render_report(report.ok() ? std::cout : std::cerr, plan, report, verb);
  }
  // Readiness of what this run started or changed (apply only: delete
  // touches no VM that stays). A failed run is not waited on.
  int rc = report.ok() ? kExitOk : kExitError;
  nlohmann::ordered_json ready = nlohmann::ordered_json::array();
  if (verb == "Apply" && report.ok()) {
    rc = report_readiness(s.store(), touched_vms(plan, report), {o.wait, human, g.quiet}, g_stop, ready);
  }
  if (!human) {
    auto doc = nlohmann::ordered_json::parse(report_json(plan, report));
    if (verb == "Apply") {
      doc["readiness"] = ready;
      doc["ok"] = rc == kExitOk;
    }
    std::cout << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  return rc;
}

// Each `oci:` tag asked of its registry, before the diff; a registry that
// cannot be asked leaves the recorded digest, said on stderr.
DesiredState resolve_tags(DesiredState d, const std::map<ResourceKey, ResourceRecord>& applied, const GlobalOptions& g) {
  std::vector<std::string> warnings;
  d = with_oci_digests(std::move(d), applied, /*online=*/true, &warnings);
  if (!g.quiet) {
    for (const std::string& w : warnings) std::cerr << "Warning: " << w << "\n";
  }
  return d;
}

// `against`: a `banger state export` file instead of the live host. Then no
// root, no Session, no host access: the plan the exported host would get.
int run_diff(const ReconcileOptions& o, const std::string& against, const GlobalOptions& g) {
  // The live host is observed while the manifests load: neither needs the
  // other, and at a thousand VMs each takes tens of milliseconds. Only a
  // host banger already keeps state on (nothing is created before the
  // manifests are judged), and whatever observing throws is rethrown after
  // the manifests' own errors, in the order a sequential run gives.
  auto observe_host = [&] {
    auto s = std::make_unique<Session>(session_options(g, o.host, /*lock=*/false));
    s->observe();
    return s;
  };
  std::future<std::unique_ptr<Session>> observed;
  std::error_code exists_ec;
  if (against.empty() && std::filesystem::exists(g.state_dir + "/state.db", exists_ec)) {
    observed = std::async(std::launch::async, observe_host);
  }
  std::optional<LabelSelector> selector;
  if (!parse_selector_flag(o.selector, selector)) return kExitError;
  LoadResult r;
  if (!load(o, r)) return kExitError;
  // Against an export: the manifests placed for the node it recorded.
  std::optional<StateSnapshot> snapshot;
  if (!against.empty()) snapshot = read_state_export(against);
  const NodeIdentity node = snapshot ? export_node(*snapshot, g) : node_identity(g);
  DesiredState desired = desired_on_node(std::move(r.set), node, selector);
  Plan plan;
  DiffOptions opts{o.prune};
  opts.prune_selector = selector;
  if (!parse_replace(o, desired, opts)) return kExitError;
  if (snapshot) {
    plan = plan_against_export(std::move(desired), *snapshot, opts);
    note_unlisted_nat(snapshot->observed, g, "the export was made without root; the plan takes them as banger left them");
  } else {
    std::unique_ptr<Session> s = observed.valid() ? observed.get() : observe_host();
    desired = resolve_tags(std::move(desired), s->observe().applied, g);
    plan = s->plan_apply(desired, opts);
    note_unlisted_nat(s->observe(), g, "listing them needs root; the plan takes them as banger left them");
  }
  if (o.output == "json") {
    std::cout << plan_json(plan) << "\n";
  } else {
    render_plan(std::cout, plan);
  }
  // A change the manifests ask for that no apply can make is an error, as
  // in terraform plan; one that needs --replace is a change like any other.
  for (const Change& c : plan.diff.changes) {
    if (!c.error.empty()) {
      std::cerr << "Error: " << refusal_message(c) << "\n";
      return kExitError;
    }
  }
  return plan.empty() ? kExitOk : kExitChanges;
}

void gc_pruned(Session& s, std::set<std::string> hashes, const ReconcileOptions& o, const GlobalOptions& g) {
  if (hashes.empty()) return;
  const std::string dir = std::filesystem::absolute(g.state_dir).lexically_normal().string();
  hashes = with_oci_layers(std::move(hashes), dir);  // a pruned pulled image takes its own layers along
  for (const GcItem& item : collect_garbage(s.store(), dir)) {
    if (!hashes.count(item.sha256)) continue;
    remove_garbage(s.store(), {item});
    if (o.output != "json" && !g.quiet) {
      std::cout << "gc: removed " << item.path << " (" << item.kind << " of a pruned resource, "
                << human_bytes(static_cast<double>(item.size)) << ")\n";
    }
  }
}

int run_apply(const ReconcileOptions& o, const GlobalOptions& g) {
  std::optional<LabelSelector> selector;
  if (!parse_selector_flag(o.selector, selector)) return kExitError;
  LoadResult r;
  if (!load(o, r)) return kExitError;
  if (!require_root("apply", g)) return kExitError;
  // -l: the selected resources and what they need; the rest of the
  // manifests is neither changed nor, with --prune, taken for gone.
  // Placement: only this node's part (what is placed elsewhere is, with
  // --prune, taken for gone).
  DesiredState desired = desired_on_node(std::move(r.set), node_identity(g), selector);
  DiffOptions opts{o.prune};
  opts.prune_selector = selector;
  if (!parse_replace(o, desired, opts)) return kExitError;
  Session s(session_options(g, o.host, /*lock=*/true, "banger apply"));
  desired = resolve_tags(std::move(desired), s.observe().applied, g);
  Plan plan = s.plan_apply(desired, opts);
  if (o.output != "json") render_plan(std::cout, plan);
  if (refuse(plan)) {
    if (o.output == "json") std::cout << plan_json(plan) << "\n";
    return kExitError;
  }
  if (plan.empty() || o.dry_run) {
    if (o.output == "json") std::cout << plan_json(plan) << "\n";
    return kExitOk;
  }
  // Downloads only the pruned Kernels and Images named: collected once the
  // apply succeeded, under its lock (`banger gc` does the rest).
  std::vector<ResourceRecord> pruned;
  for (const Change& c : plan.diff.changes) {
    auto rec = s.observe().applied.find(c.key);
    if (c.type == ChangeType::Delete && rec != s.observe().applied.end()) pruned.push_back(rec->second);
  }
  int rc = execute_plan(s, plan, desired, o, g, "Apply");
  if (rc == kExitOk && !pruned.empty()) gc_pruned(s, artifacts_in_use(pruned), o, g);
  return rc;
}

int run_delete(const ReconcileOptions& o, const GlobalOptions& g) {
  std::set<ResourceKey> keys;
  std::optional<LabelSelector> selector;
  if (!parse_selector_flag(o.selector, selector)) return kExitError;
  if (!o.files.empty() && !o.target.empty()) {
    std::cerr << "error: give either -f PATH or KIND NAME, not both\n";
    return kExitError;
  }
  // KIND alone goes with -l (delete vms -l app=web), as in kubectl.
  std::optional<Kind> kind;
  if (!o.target.empty()) {
    kind = parse_kind_alias(o.target[0]);
    if (!kind) {
      std::cerr << "error: the server doesn't have a resource type \"" << o.target[0]
                << "\" (expected vm, network, kernel, image or portforward)\n";
      return kExitError;
    }
  }
  if (o.files.empty() && !selector) {
    if (o.target.size() != 2) {
      std::cerr << "error: must specify -f PATH, KIND NAME or -l SELECTOR\nSee 'banger delete --help' for usage.\n";
      return kExitError;
    }
    keys.insert({*kind, o.target[1]});
  } else if (!o.files.empty()) {
    LoadResult r;
    if (!load(o, r)) return kExitError;
    // With -l, only the resources that match: not what they depend on.
    // Only this node's part: what is placed on other nodes is theirs.
    for (const auto& spec : desired_on_node(std::move(r.set), node_identity(g), std::nullopt).specs) {
      if (!selector || selector->matches(spec_labels(spec))) keys.insert(spec.key);
    }
  } else if (o.target.size() == 2) {
    std::cerr << "error: give either KIND NAME or -l SELECTOR, not both\n";
    return kExitError;
  }
  if (!require_root("delete", g)) return kExitError;
  Session s(session_options(g, o.host, /*lock=*/true, "banger delete"));
  if (selector && o.files.empty()) {
    // What this host applied whose recorded labels match.
    for (const auto& [key, rec] : s.observe().applied) {
      if ((!kind || key.kind == *kind) && selector->matches(record_labels(rec))) keys.insert(key);
    }
    if (keys.empty()) {
      if (o.output != "json" && !g.quiet) std::cout << "No resources found.\n";
      return kExitOk;
    }
  }
  Plan plan = s.plan_delete(keys);
  bool missing = false;
  for (const ResourceKey& k : keys) {
    // Found: applied, or left half-made by an interrupted run (the plan
    // removes it), which is not "not found" although it was never applied.
    if (!s.observe().applied.count(k) && !plan.diff.find(k) && !o.ignore_not_found) {
      std::cerr << "Error: " << k.str() << " not found\n";
      missing = true;
    }
  }
  if (plan.empty()) return missing ? kExitError : kExitOk;
  if (o.output != "json") render_plan(std::cout, plan);
  int rc = execute_plan(s, plan, DesiredState{}, o, g, "Delete");
  return missing ? kExitError : rc;
}

template <class Fn>
void bind(CLI::App* cmd, std::function<int()>& run, std::shared_ptr<ReconcileOptions> o,
          const GlobalOptions& g, Fn fn) {
  cmd->callback([&run, o, &g, fn] { run = [o, &g, fn] { return fn(*o, g); }; });
}

}  // namespace

DesiredState desired_on_node(ManifestSet set, const NodeIdentity& node, const std::optional<LabelSelector>& selector) {
  // Without placements every node gets everything: no copy to make.
  if (uses_placement(set)) set = place_on_node(set, node);
  return make_desired(selector ? select_resources(set, *selector) : std::move(set));
}

NodeIdentity export_node(const StateSnapshot& snapshot, const GlobalOptions& g) {
  const NodeIdentity flags = node_identity(g);  // checked even when unused: a bad flag is an error
  if (!snapshot.info.node) return flags;
  // The export knows which host it is; a --node-name that says otherwise
  // is named, so that a plan for another node is never taken for this one.
  if (!g.node_name.empty() && g.node_name != snapshot.info.node->name && !g.quiet) {
    std::cerr << "Warning: the export was taken on node " << snapshot.info.node->name << ": planning for it, not for "
              << "--node-name " << g.node_name << "\n";
  }
  return *snapshot.info.node;
}

void add_diff_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<ReconcileOptions>();
  CLI::App* cmd = app.add_subcommand("diff", "Show what apply would change on this host");
  cmd->footer("Exit status: 0 no changes, 2 changes, 1 error (as terraform plan -detailed-exitcode).");
  add_file_option(cmd, o->files);
  cmd->add_flag("--prune", o->prune, "Also show deletions of what banger applied and the manifests no longer name");
  cmd->add_option("--replace", o->replace,
                  "Show VM/NAME with its disk made anew (its data lost), as apply --replace would")
      ->allow_extra_args(false)
      ->type_name("VM/NAME");
  cmd->add_option("-l,--selector", o->selector,
                  "Only the resources whose labels match, and what they need (kubectl's syntax: key=value, "
                  "key!=value, key in (a,b), key notin (a,b), key, !key)");
  add_output_option(cmd, o->output, {"json"});
  add_host_flags(cmd, o->host, false);
  auto against = std::make_shared<std::string>();
  cmd->add_option("--against", *against,
                  "Diff against a 'banger state export' file instead of this host (no root needed)")
      ->type_name("FILE");
  cmd->callback([&run, o, against, &g] { run = [o, against, &g] { return run_diff(*o, *against, g); }; });
}

void add_apply_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<ReconcileOptions>();
  CLI::App* cmd = app.add_subcommand("apply", "Make this host match the manifests");
  cmd->footer(
      "Examples:\n  sudo banger apply -f examples/manifests\n  sudo banger apply -f vms/ --prune\n"
      "  sudo banger apply -f vms/ --replace VM/web-1\n\n"
      "Exit status: 0 converged, 1 error.");
  add_file_option(cmd, o->files);
  cmd->add_flag("--prune", o->prune, "Delete what banger applied that the manifests no longer name");
  cmd->add_flag("--dry-run", o->dry_run, "Print the plan and change nothing");
  cmd->add_flag("--wait", o->wait,
                "Wait until every VM this apply started or changed is ready (its spec.readiness probe "
                "passes, or its process runs); exit 1 naming a VM that is not ready within its timeout");
  cmd->add_option("--replace", o->replace,
                  "Make VM/NAME's disk anew from its image, losing its data (as terraform -replace); "
                  "needed to apply an Image change to a VM. Repeatable")
      ->allow_extra_args(false)
      ->type_name("VM/NAME");
  cmd->add_option("-l,--selector", o->selector,
                  "Converge only the resources whose labels match, and what they need; --prune then deletes "
                  "only what matches (kubectl's syntax: key=value, key!=value, key in (a,b), key notin (a,b), "
                  "key, !key)");
  add_output_option(cmd, o->output, {"json"});
  add_host_flags(cmd, o->host, true);
  bind(cmd, run, o, g, run_apply);
}

void add_delete_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<ReconcileOptions>();
  CLI::App* cmd = app.add_subcommand("delete", "Delete resources and everything they own on this host");
  cmd->footer(
      "Examples:\n  sudo banger delete -f examples/manifests\n  sudo banger delete vm web-1\n"
      "  sudo banger delete vms -l app=web\n  sudo banger delete -f examples/manifests -l 'env in (dev,test)'");
  cmd->add_option("-f,--filename", o->files, "Manifest file or folder whose resources to delete")
      ->allow_extra_args(false)
      ->type_name("PATH");
  cmd->add_option("target", o->target, "KIND NAME, or KIND with -l")->expected(0, 2);
  cmd->add_flag("--ignore-not-found", o->ignore_not_found, "Treat resources that are not there as deleted");
  cmd->add_option("-l,--selector", o->selector,
                  "Delete the resources whose labels match: of the manifests with -f, else of what this host "
                  "applied (of KIND when given)");
  add_output_option(cmd, o->output, {"json"});
  add_host_flags(cmd, o->host, true);
  bind(cmd, run, o, g, run_delete);
}

}  // namespace banger::cli
