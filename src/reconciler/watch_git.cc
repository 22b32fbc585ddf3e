// `banger watch --git URL`: the git source of the watcher (see watcher.h).
// The loop fetches every interval; a new commit's tree is written into
// STATE/git/KEY/tree, which the watcher then reconciles exactly as a folder
// (same safety rules: an invalid commit changes nothing, an empty tree
// prunes only with --allow-empty). A fetch that fails keeps the last good
// commit and is retried with a back-off.
#include <algorithm>
#include <filesystem>

#include "common/host_error.h"
#include "drivers/ssh_signature.h"
#include "reconciler/git_status.h"
#include "reconciler/watcher.h"
#include "resources/quantity.h"
#include "state/state_dir.h"

namespace banger {

namespace {

using Steady = std::chrono::steady_clock;

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// interval, then doubling while fetches fail, up to 5 minutes (or the
// interval itself, when that is longer).
Steady::duration fetch_backoff(std::chrono::milliseconds interval, int failures) {
  Steady::duration cap = std::max<Steady::duration>(interval, std::chrono::minutes(5));
  Steady::duration d = interval;
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

}  // namespace

bool Watcher::start_git(WatchSchedule& schedule) {
  const GitWatchOptions& g = *opts_.git;
  const std::string cache = git_cache_dir(opts_.session.host.state_dir, g.url, g.ref);
  dir_ = cache + "/tree";
  try {
    // The clone lives in the state dir: made private (and shared with the
    // group banger) first, as the Store would make it.
    ensure_state_dir(opts_.session.host.state_dir);
    git_ = std::make_unique<GitSource>(g.url, g.ref, cache, g.creds);
  } catch (const HostError& e) {
    out_.log(spdlog::level::err, std::string("cannot use git: ") + e.what(), {{"git", g.url}});
    return false;
  }
  out_.log(spdlog::level::info,
           "watching git " + g.url + " " + git_full_ref(g.ref) + (g.path == "." ? "" : " path " + g.path) +
               " (fetch every " + format_duration(g.interval) + ", resync every " + format_duration(opts_.resync) +
               "; tree in " + dir_ + ")",
           {{"git", g.url}, {"ref", g.ref}, {"dir", dir_}});
  // A restart: the tree written last is the last good one until a fetch
  // says otherwise (the remote may be away just now).
  std::error_code ec;
  if (GitSource::recover_tree(dir_)) {
    out_.log(spdlog::level::warn, "a tree swap was interrupted: the last tree is back in " + dir_, {{"dir", dir_}});
  }
  if (std::filesystem::is_directory(dir_, ec)) {
    if (auto st = read_git_status(opts_.session.host.state_dir); st && st->url == g.url && st->ref == g.ref) {
      git_tree_ = {st->commit, st->summary, 0};
      git_seen_ = git_converged_ = st->commit;
    }
    schedule.request(WatchTrigger::Start);
  }
  next_fetch_ = Steady::now();
  fetch_if_due(schedule);
  return true;
}

void Watcher::fetch_if_due(WatchSchedule& schedule) {
  if (Steady::now() < next_fetch_) return;
  const GitWatchOptions& g = *opts_.git;
  GitCommit c;
  try {
    c = git_->fetch();
  } catch (const HostError& e) {
    ++fetch_failures_;
    const auto wait = fetch_backoff(g.interval, fetch_failures_);
    next_fetch_ = Steady::now() + wait;
    out_.fetched(false);
    out_.log(fetch_failures_ == 1 ? spdlog::level::warn : spdlog::level::debug,
             std::string("git fetch failed: ") + e.what() + "; keeping " +
                 (git_tree_.id.empty() ? std::string("nothing applied from it yet")
                                       : "commit " + short_id(git_tree_.id)) +
                 "; next try in " + format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(wait)) +
                 (fetch_failures_ > 1 ? " (" + std::to_string(fetch_failures_) + " failures in a row)" : ""),
             {{"git", g.url}, {"error", e.what()}});
    return;
  }
  if (fetch_failures_ > 0) {
    out_.log(spdlog::level::info, "git fetch works again after " + std::to_string(fetch_failures_) + " failures",
             {{"git", g.url}});
  }
  fetch_failures_ = 0;
  next_fetch_ = Steady::now() + g.interval;
  out_.fetched(true);
  if (c.id == git_seen_) return;
  git_seen_ = c.id;  // also when it is refused: not tried again until the ref moves
  std::string signer;
  try {
    if (!g.verify_signers.empty()) {
      auto sig = git_->signature(c.id);
      if (!sig) throw HostError("is not signed, and --git-verify wants it signed", ErrorCode::Invalid);
      signer = verify_ssh_signature(g.verify_signers, sig->first, sig->second, git_->cache_dir());
    }
    for (const std::string& p : git_->write_tree(c.id, g.path, dir_)) {
      out_.log(spdlog::level::warn, "commit " + short_id(c.id) + ": " + p + " is a symlink or submodule; not used",
               {{"git", g.url}, {"commit", c.id}});
    }
  } catch (const HostError& e) {
    // As an invalid folder: nothing changes, the last good state keeps running.
    out_.log(spdlog::level::err,
             "commit " + short_id(c.id) + " \"" + c.summary + "\": " + e.what() + ": nothing changed" +
                 (git_converged_.empty() ? "" : "; the host stays at commit " + short_id(git_converged_)),
             {{"git", g.url}, {"commit", c.id}});
    return;
  }
  const std::string was = git_tree_.id;
  git_tree_ = c;  // dir_ holds it now
  out_.log(spdlog::level::info,
           "new commit " + short_id(c.id) + " \"" + c.summary + "\"" + (was.empty() ? "" : " (was " + short_id(was) + ")") +
               (signer.empty() ? "" : ", signed by " + signer),
           {{"git", g.url}, {"commit", c.id}});
  schedule.request(WatchTrigger::Commit);
}

void Watcher::git_reconciled(const Outcome& o) {
  // Converged to the tree's commit only when that tree loaded (nothing
  // blocked it) and its reconcile went through.
  if (!o.ok || !blocked_.empty() || git_tree_.id.empty() || git_tree_.id == git_converged_) return;
  git_converged_ = git_tree_.id;
  const GitWatchOptions& g = *opts_.git;
  GitStatus st{g.url, g.ref, g.path, git_tree_.id, git_tree_.summary, static_cast<int64_t>(std::time(nullptr))};
  try {
    write_git_status(opts_.session.host.state_dir, st);
  } catch (const HostError& e) {
    out_.log(spdlog::level::warn, std::string("recording the converged commit: ") + e.what(), {{"git", g.url}});
  }
  out_.converged_commit(git_converged_);
  out_.log(spdlog::level::info, "converged to commit " + short_id(git_converged_),
           {{"git", g.url}, {"commit", git_converged_}});
}

}  // namespace banger
