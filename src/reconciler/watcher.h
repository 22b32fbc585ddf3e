// `banger watch DIR`: keeps the host equal to a folder (typically a git
// checkout) for as long as it runs. Each reconcile is what
// `apply -f DIR --prune` does (load, make_desired, a fresh Session holding
// the host lock, plan_apply, execute), with the prune limited to what was
// applied from DIR. Between reconciles the lock is free, so a person's
// `apply` runs in between and never interleaves with the watcher.
//
// One thread, one poll() over: the signal pipe (SIGTERM/SIGINT stop,
// SIGHUP reconciles now), the inotify fd of the tree, a pidfd per running
// VM of DIR (an exit is noticed at once), and a timeout for the debounce,
// the resync and retries (watch_schedule.h decides which).
//
// Safety: a DIR that does not load or validate changes nothing on the host
// (every error is logged); a DIR that is gone or unreadable is never read as
// "nothing wanted"; a DIR without any manifest prunes nothing unless
// allow_empty is set. Meanwhile the last manifests that did load are kept,
// and drift from them is still repaired (a crashed VM comes back), with
// nothing pruned.
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "drivers/dir_watch.h"
#include "drivers/git_source.h"
#include "drivers/pidfd_set.h"
#include "drivers/signal_pipe.h"
#include "reconciler/desired_state.h"
#include "reconciler/executor.h"
#include "reconciler/plan.h"
#include "reconciler/session.h"
#include "reconciler/watch_schedule.h"

namespace banger {

/// Structured extras of a log line: ("resource", "VM/web"), ("outcome", "failed").
using LogFields = std::vector<std::pair<std::string, std::string>>;

/// Where the watcher's words go. The CLI renders them (text or JSON lines);
/// the watcher only decides what happened. Calls may come from executor
/// workers, but never two at once.
class WatchReporter {
 public:
  virtual ~WatchReporter() = default;
  virtual void log(spdlog::level::level_enum level, const std::string& msg, const LogFields& fields = {}) = 0;
  /// A reconcile found changes to make: one line per change.
  virtual void plan(const Plan& plan, WatchTrigger why) = 0;
  /// One executed action finished (one line).
  virtual void action(const Plan& plan, const Action& a, const ActionReport& r) = 0;
  /// All actions of a plan finished (or were cancelled by a stop).
  virtual void executed(const Plan& plan, const ExecutionReport& r) = 0;
  /// A reconcile ended: "unchanged" (nothing to do), "converged" (every
  /// action succeeded) or "failed"; how long it took, and how many of its
  /// changes repaired drift. For metrics; logging needs nothing here.
  virtual void reconciled(const std::string& result, double seconds, size_t repairs) {
    (void)result, (void)seconds, (void)repairs;
  }
  /// A git fetch ended (`watch --git`); `converged`: the commit whose tree
  /// the host now equals, after a reconcile of it succeeded. For metrics.
  virtual void fetched(bool ok) { (void)ok; }
  virtual void converged_commit(const std::string& commit) { (void)commit; }
};

/// `watch --git URL`: where the manifests come from instead of DIR.
struct GitWatchOptions {
  std::string url;
  std::string ref = "main";
  std::string path = ".";  ///< the folder of the repository that holds the manifests
  std::chrono::milliseconds interval{30000};  ///< fetch this often
  GitCredentials creds;
  /// --git-verify: an allowed_signers file; a commit not signed (SSH) by a
  /// key it lists changes nothing. "" = no check.
  std::string verify_signers;
};

struct WatchOptions {
  std::string dir;  ///< as the user gave it; normalized by run(). Unused with git.
  /// Manifests from a git repository: fetched every interval into a clone in
  /// the state dir, each new commit's tree written to STATE/git/KEY/tree,
  /// which then is DIR (and the prune scope) for everything below.
  std::optional<GitWatchOptions> git;
  std::chrono::milliseconds debounce{200};
  std::chrono::milliseconds resync{30000};
  /// A DIR with no manifests at all prunes everything applied from it.
  bool allow_empty = false;
  /// Host, lock and worker settings; lock is always taken (and waited for).
  SessionOptions session;
  /// Which node of a fleet this host is: only what is placed on it is
  /// desired (reconciler/placement.h), the rest is pruned.
  NodeIdentity node;
};

class Watcher {
 public:
  Watcher(WatchOptions opts, WatchReporter& out);
  ~Watcher();

  /// Runs until SIGTERM or SIGINT (after the action under way finishes; VMs
  /// keep running) and returns 0; returns 1 at once when DIR is not a folder
  /// or cannot be watched.
  int run();

 private:
  struct Outcome {
    /// false: retry after a back-off. A reconcile whose failures are all
    /// final (ErrorCode not retryable: a name taken, a missing binary, a hash
    /// mismatch) counts as ok here: trying again soon cannot help, so it
    /// waits for a file change, SIGHUP or the resync.
    bool ok = true;
    std::optional<std::chrono::system_clock::time_point> retry_at;
  };

  struct Line {
    spdlog::level::level_enum level;
    std::string msg;
    LogFields fields;
  };

  // watch_reconcile.cc: one reconcile of DIR.
  Outcome reconcile(WatchTrigger why);
  void report_blocked(const std::vector<Line>& lines, WatchTrigger why);
  Outcome converge(const DesiredState& desired, bool prune, WatchTrigger why);
  Outcome keep_last_good(WatchTrigger why, bool dir_ok);
  /// How many applied resources came from DIR; nullopt when the state
  /// cannot be read (never 0 for "unknown").
  std::optional<size_t> applied_from_dir();
  bool watch_processes(Session& s, const DesiredState& desired);

  // watcher.cc: the loop.
  void wait_for_events(WatchSchedule& schedule);

  // watch_git.cc: the git source.
  bool start_git(WatchSchedule& schedule);
  void fetch_if_due(WatchSchedule& schedule);
  void git_reconciled(const Outcome& o);

  WatchOptions opts_;
  WatchReporter& out_;
  /// systemd's watchdog: half its interval (0: none), and when to ping next.
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point next_ping_{};
  std::string dir_;  ///< normalized (source_path.h): the prune scope
  std::unique_ptr<SignalPipe> signals_;
  std::unique_ptr<DirWatch> watch_;
  bool root_gone_ = false;
  PidfdSet pidfds_;
  /// The last manifests that loaded and validated (nullopt before the first).
  std::optional<DesiredState> last_good_;
  /// What the last refused reconcile said (errors of an invalid DIR, ...).
  std::string blocked_;
  /// Final action failures (and what they held back) of the last reconcile,
  /// (resource, action type) -> message: the same again at a resync, retry or
  /// VM exit is logged at debug level (watch_reconcile.cc).
  std::map<std::pair<std::string, std::string>, std::string> final_errors_;

  std::unique_ptr<GitSource> git_;
  GitCommit git_tree_;          ///< the commit whose tree dir_ holds (id empty: none yet)
  std::string git_seen_;        ///< the last fetched commit, written or refused: not tried again
  std::string git_converged_;   ///< the last commit a reconcile converged to
  std::chrono::steady_clock::time_point next_fetch_{};
  int fetch_failures_ = 0;
};

}  // namespace banger
