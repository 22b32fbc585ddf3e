#include "cli/watch_cmd.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/host_flags.h"
#include "cli/node_flags.h"
#include "cli/watch_log.h"
#include "drivers/metrics_server.h"
#include "reconciler/watch_metrics.h"
#include "reconciler/watcher.h"
#include "resources/quantity.h"

namespace banger::cli {

namespace {

struct WatchCmdOptions {
  std::string dir;
  std::string git;  ///< --git URL: manifests from a repository instead of DIR
  std::string ref = "main";
  std::string path = ".";
  std::string interval = "30s";
  std::string ssh_key;
  std::string verify;
  std::string resync = "30s";
  std::string debounce = "200ms";
  bool allow_empty = false;
  std::string log_format = "text";
  std::string metrics_address;  ///< "" = no metrics endpoint
  HostFlags host;
};

// The log reporter, plus counts for the metrics endpoint.
class MetricsReporter : public WatchReporter {
 public:
  MetricsReporter(WatchReporter& inner, WatchMetrics& m) : inner_(inner), m_(m) {}
  void log(spdlog::level::level_enum level, const std::string& msg, const LogFields& fields) override {
    inner_.log(level, msg, fields);
  }
  void plan(const Plan& plan, WatchTrigger why) override { inner_.plan(plan, why); }
  void action(const Plan& plan, const Action& a, const ActionReport& r) override {
    m_.action(to_string(a.type), to_string(r.outcome));
    inner_.action(plan, a, r);
  }
  void executed(const Plan& plan, const ExecutionReport& r) override { inner_.executed(plan, r); }
  void reconciled(const std::string& result, double seconds, size_t repairs) override {
    m_.reconciled(result, seconds, repairs, static_cast<int64_t>(std::time(nullptr)));
  }
  void fetched(bool ok) override { m_.fetched(ok, static_cast<int64_t>(std::time(nullptr))); }
  void converged_commit(const std::string& commit) override { m_.converged_commit(commit); }

 private:
  WatchReporter& inner_;
  WatchMetrics& m_;
};

std::optional<std::chrono::milliseconds> duration_flag(const std::string& flag, const std::string& value,
                                                       std::chrono::milliseconds min) {
  auto d = parse_duration(value);
  if (!d || *d < min) {
    std::cerr << "error: " << flag << " " << value << " is not a duration of at least "
              << format_duration(min) << " (such as 30s, 2m or 200ms)\nSee 'banger watch --help' for usage.\n";
    return std::nullopt;
  }
  return d;
}

int run_watch(const WatchCmdOptions& o, const GlobalOptions& g) {
  auto resync = duration_flag("--resync", o.resync, std::chrono::seconds(1));
  auto debounce = duration_flag("--debounce", o.debounce, std::chrono::milliseconds(0));
  if (!resync || !debounce) return kExitError;
  if (o.dir.empty() == o.git.empty()) {
    std::cerr << "error: give either DIR or --git URL\nSee 'banger watch --help' for usage.\n";
    return kExitError;
  }
  std::optional<GitWatchOptions> git;
  if (!o.git.empty()) {
    auto interval = duration_flag("--interval", o.interval, std::chrono::milliseconds(100));
    if (!interval) return kExitError;
    git = GitWatchOptions{o.git, o.ref, o.path, *interval, {}};
    // The usual ways, and what a unit's EnvironmentFile= sets: a key file
    // for ssh URLs, a token for https.
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v ? v : "");
    };
    git->creds.ssh_key = !o.ssh_key.empty() ? o.ssh_key : env("BANGER_GIT_SSH_KEY");
    git->creds.ssh_passphrase = env("BANGER_GIT_SSH_PASSPHRASE");
    git->creds.username = env("BANGER_GIT_USERNAME");
    git->creds.token = env("BANGER_GIT_TOKEN");
    git->verify_signers = o.verify;
  }
  if (!require_root("watch", g)) return kExitError;
  // The watcher's lines are its output: info by default (the global default
  // "warn" is for one-shot commands), warnings and errors only with -q.
  auto level = spdlog::level::from_str(g.log_level);
  if (g.log_level == "warn") level = g.quiet ? spdlog::level::warn : spdlog::level::info;
  setup_watch_logging(o.log_format, level);

  WatchOptions w;
  w.dir = o.dir;
  w.git = git;
  w.resync = *resync;
  w.debounce = *debounce;
  w.allow_empty = o.allow_empty;
  w.session = session_options(g, o.host, /*lock=*/true, "banger watch");
  w.session.wait_for_lock = true;
  w.node = node_identity(g);
  LogReporter out(o.log_format == "json");
  if (o.metrics_address.empty()) return Watcher(w, out).run();
  // Metrics: counters kept by the reporter, the VM gauges read from the
  // state at each scrape (on the server's own thread).
  WatchMetrics metrics;
  MetricsReporter counted(out, metrics);
  const std::string state_dir = g.state_dir;
  std::unique_ptr<MetricsServer> server;
  try {
    server = std::make_unique<MetricsServer>(
        o.metrics_address, [&metrics, state_dir] { return metrics.render(read_vm_gauges(state_dir)); });
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return kExitError;
  }
  out.log(spdlog::level::info, "metrics on http://" + server->address() + "/metrics", {{"metrics", server->address()}});
  return Watcher(w, counted).run();
}

}  // namespace

void add_watch_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<WatchCmdOptions>();
  CLI::App* cmd = app.add_subcommand("watch", "Keep this host equal to a folder of manifests (GitOps)");
  cmd->footer(
      "Applies DIR at start and on every change under it (as apply --prune, but pruning only what was\n"
      "applied from DIR), repairs drift every --resync, restarts exited VMs at once. An invalid DIR\n"
      "changes nothing. SIGTERM/SIGINT: finish the action under way and exit 0, VMs keep running.\n"
      "SIGHUP: reconcile now.\n\n"
      "Examples:\n  sudo banger watch /srv/gitops/vms\n  sudo banger watch /srv/gitops/vms --resync 1m --log-format json\n"
      "  sudo banger watch --git https://git.example.com/fleet.git --ref main --path hosts --interval 30s");
  cmd->add_option("DIR", o->dir, "Folder of manifests (typically a git checkout)")->type_name("DIR");
  cmd->add_option("--git", o->git,
                  "Take the manifests from this git repository instead of DIR (https://, ssh:// or file:// URL); "
                  "fetched every --interval into a clone in the state dir")
      ->type_name("URL");
  cmd->add_option("--ref", o->ref, "With --git: the branch (or full ref) to follow")->capture_default_str();
  cmd->add_option("--path", o->path, "With --git: the repository's folder that holds the manifests")
      ->capture_default_str();
  cmd->add_option("--interval", o->interval, "With --git: fetch this often")
      ->capture_default_str()
      ->type_name("DURATION");
  cmd->add_option("--git-ssh-key", o->ssh_key,
                  "With an ssh URL: the private key file (else BANGER_GIT_SSH_KEY; https takes BANGER_GIT_TOKEN "
                  "and BANGER_GIT_USERNAME)")
      ->type_name("FILE");
  cmd->add_option("--git-verify", o->verify,
                  "With --git: apply only commits signed (git's gpg.format=ssh) by a key this allowed_signers "
                  "file lists; others change nothing")
      ->check(CLI::ExistingFile)
      ->type_name("ALLOWED_SIGNERS");
  cmd->add_option("--resync", o->resync, "Re-observe and repair drift this often, even when no file changed")
      ->capture_default_str()
      ->type_name("DURATION");
  cmd->add_option("--debounce", o->debounce, "Wait this long after the last file event before reading DIR")
      ->capture_default_str()
      ->type_name("DURATION");
  cmd->add_flag("--allow-empty", o->allow_empty,
                "Let a DIR with no manifests at all prune everything applied from it");
  cmd->add_option("--metrics-address", o->metrics_address,
                  "Serve Prometheus metrics on http://HOST:PORT/metrics (PORT alone: 127.0.0.1:PORT), e.g. "
                  "127.0.0.1:9464")
      ->type_name("HOST:PORT");
  cmd->add_option("--log-format", o->log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_host_flags(cmd, o->host, false);
  cmd->add_option("--stop-timeout", o->host.stop_timeout,
                  "How long a VM gets to shut down after Ctrl-Alt-Del before it is killed")
      ->capture_default_str();
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_watch(*o, g); }; });
}

}  // namespace banger::cli
