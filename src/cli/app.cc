#include "cli/app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <cstring>
#include <iostream>

#include "cli/options.h"
#include "cli/doctor_cmd.h"
#include "cli/explain_cmd.h"
#include "cli/completion_cmd.h"
#include "cli/gc_cmd.h"
#include "cli/images_cmd.h"
#include "cli/get_cmd.h"
#include "cli/logs_cmd.h"
#include "cli/node_flags.h"
#include "cli/fleet_cmd.h"
#include "cli/ssh_cmd.h"
#include "cli/reconcile_cmds.h"
#include "cli/state_cmd.h"
#include "cli/validate_cmd.h"
#include "cli/watch_cmd.h"
#include "cli/version.h"
#include "resources/names.h"

namespace banger::cli {

namespace {

void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.add_option("--state-dir", g.state_dir, "Where banger keeps its records")
      ->envname("BANGER_STATE_DIR")
      ->capture_default_str();
  app.add_option("--run-dir", g.run_dir, "Where sockets and logs of running VMs live")
      ->envname("BANGER_RUN_DIR")
      ->capture_default_str();
  app.add_option("--log-level", g.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_flag("-q,--quiet", g.quiet, "Print only errors");
  app.add_flag("-v,--verbose", g.verbose, "Print more detail");
  add_node_flags(app, g);
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
    out.push_back(s->get_name());
  }
  return out;
}

// The full command path for "See 'banger validate --help'".
std::string command_path(const CLI::App& app) {
  for (const CLI::App* s : app.get_subcommands()) return "banger " + s->get_name();
  return "banger";
}

int usage_error(const CLI::App& app, const std::string& message) {
  std::cerr << "error: " << message << "\nSee '" << command_path(app) << " --help' for usage.\n";
  return kExitError;
}

// Arguments nobody claimed: an unknown command (first word at top level) or flag.
int report_extras(const CLI::App& app) {
  // Subcommands fall through to the top level, so everything unclaimed ends up
  // in one of the two lists; remaining(true) gathers both.
  std::vector<std::string> extras = app.remaining(true);
  if (extras.empty()) return -1;
  const std::string& first = extras.front();
  if (app.get_subcommands().empty() && !first.empty() && first[0] != '-') {
    std::string msg = "unknown command \"" + first + "\" for \"banger\"";
    std::string guess = suggest(first, subcommand_names(app));
    if (!guess.empty()) msg += "\n\nDid you mean this?\n\t" + guess + "\n";
    std::cerr << "error: " << msg << "\nRun 'banger --help' for usage.\n";
    return kExitError;
  }
  if (!first.empty() && first[0] == '-') return usage_error(app, "unknown flag: " + first);
  return usage_error(app, "unexpected argument \"" + first + "\"");
}

void setup_logging(const GlobalOptions& g) {
  auto logger = spdlog::stderr_color_mt("banger");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(g.verbose && g.log_level == "warn" ? "info" : g.log_level));
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"banger keeps this host's Firecracker microVMs equal to YAML manifests.", "banger"};
  app.set_version_flag("--version", std::string("banger version ") + kVersion);
  app.allow_extras();
  app.footer(
      "Use \"banger COMMAND --help\" for more about a command.\n"
      "Manifests: see README.md and schemas/ for every kind and field.");
  GlobalOptions global;
  add_global_options(app, global);
  std::function<int()> command;
  add_validate_command(app, global, command);
  add_diff_command(app, global, command);
  add_apply_command(app, global, command);
  add_get_command(app, global, command);
  add_delete_command(app, global, command);
  add_logs_command(app, global, command);
  add_doctor_command(app, global, command);
  add_watch_command(app, global, command);
  add_gc_command(app, global, command);
  add_images_command(app, global, command);
  add_state_command(app, global, command);
  add_fleet_command(app, global, command);
  add_explain_command(app, global, command);
  // `ssh NAME -- CMD...` and `exec NAMES... -- CMD...`: what follows "--" is
  // the remote command, whole (its own flags included), never banger's.
  std::vector<std::string> remote;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) != "--") continue;
    bool remote_cmd = false;
    for (int j = 1; j < i; ++j) remote_cmd = remote_cmd || !std::strcmp(argv[j], "ssh") || !std::strcmp(argv[j], "exec");
    if (remote_cmd) {
      remote.assign(argv + i + 1, argv + argc);
      argc = i;
    }
    break;
  }
  add_ssh_commands(app, global, command, remote);
  add_completion_command(app, global, command);  // last: it lists the commands above
  // One command per run: with fallthrough a later word that names another
  // command ("get images") would run that one instead of being get's argument.
  app.require_subcommand(0, 1);
  for (CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
    s->allow_extras();
    s->fallthrough();  // global flags work after the command too, as in kubectl
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    // CLI11's "-f,--filename is required" reads better the kubectl way.
    if (msg.find("--filename is required") != std::string::npos) {
      return usage_error(app, "must specify at least one -f PATH");
    }
    return usage_error(app, msg);
  }
  if (int rc = report_extras(app); rc >= 0) return rc;
  if (!command) {
    std::cout << app.help();
    return kExitOk;
  }
  setup_logging(global);
  try {
    return command();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace banger::cli
