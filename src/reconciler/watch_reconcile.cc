// One reconcile of `banger watch`: the safety checks around
// `apply -f DIR --prune` (see watcher.h).
#include <algorithm>
#include <sstream>

#include "common/host_error.h"
#include "reconciler/oci_resolve.h"
#include "reconciler/placement.h"
#include "reconciler/source_path.h"
#include "reconciler/watcher.h"
#include "resources/manifest_loader.h"
#include "resources/guest_files.h"
#include "reconciler/recorded_vm.h"
#include "state/store.h"

namespace banger {

namespace {

LogFields diagnostic_fields(const Diagnostic& d) {
  LogFields f{{"file", d.mark.file}, {"line", std::to_string(d.mark.line)},
              {"column", std::to_string(d.mark.column)}};
  if (!d.kind.empty() || !d.name.empty()) f.emplace_back("resource", d.kind + "/" + d.name);
  if (!d.field.empty()) f.emplace_back("field", d.field);
  f.emplace_back("error", d.message);
  return f;
}

// The loader's one diagnostic for a readable folder without any *.yaml or
// *.yml file in it (resources/loader.cc). Anything else (a missing or
// unreadable folder, a bad file) is an error, never "nothing wanted".
bool only_no_manifests(const std::vector<SourceText>& sources, const Diagnostics& read_errors) {
  return sources.empty() && read_errors.size() == 1 &&
         read_errors.items()[0].message.find("has no manifests") != std::string::npos;
}

}  // namespace

Watcher::Outcome Watcher::reconcile(WatchTrigger why) {
  if (root_gone_) {
    try {
      watch_->rescan();
      root_gone_ = false;
      out_.log(spdlog::level::info, dir_ + " is back", {{"dir", dir_}});
    } catch (const HostError& e) {
      report_blocked({{spdlog::level::err, std::string(e.what()) + ": nothing changed", {{"dir", dir_}}}}, why);
      return keep_last_good(why, false);
    }
  }
  Diagnostics read_errors;
  std::istringstream no_stdin;
  std::vector<SourceText> sources = read_sources({dir_}, no_stdin, read_errors);
  if (only_no_manifests(sources, read_errors)) {
    if (opts_.allow_empty) {
      out_.log(spdlog::level::warn, dir_ + " has no manifests: pruning everything applied from it (--allow-empty)",
               {{"dir", dir_}});
      DesiredState none = make_desired(ManifestSet{});
      last_good_ = none;
      return converge(none, true, why);
    }
    std::optional<size_t> n = applied_from_dir();
    std::vector<Line> lines;
    if (!n) {
      lines.push_back({spdlog::level::err,
                       dir_ + " has no manifests, and what was applied from it cannot be read from the state; "
                              "nothing is pruned",
                       {{"dir", dir_}}});
    } else if (*n > 0) {
      lines.push_back({spdlog::level::warn,
                       dir_ + " has no manifests: refusing to prune the " + std::to_string(*n) +
                           " resources applied from it (an emptied checkout looks the same as a deliberate "
                           "removal; pass --allow-empty to prune them)",
                       {{"dir", dir_}}});
    } else {
      lines.push_back({spdlog::level::info, dir_ + " has no manifests yet: nothing to apply", {{"dir", dir_}}});
    }
    report_blocked(lines, why);
    return keep_last_good(why, true);
  }
  LoadResult r = load_texts(sources);
  load_guest_files(r.set, r.diags, dir_);  // re-read every pass; only from inside the folder
  r.diags.append(read_errors);
  if (!r.ok()) {
    std::vector<Line> lines;
    for (const Diagnostic& d : r.diags.sorted()) lines.push_back({spdlog::level::err, d.format(), diagnostic_fields(d)});
    lines.push_back({spdlog::level::err,
                     dir_ + " does not validate (" + std::to_string(r.diags.size()) +
                         (r.diags.size() == 1 ? " error" : " errors") +
                         "): nothing changed; the last good state keeps running",
                     {{"dir", dir_}, {"errors", std::to_string(r.diags.size())}}});
    report_blocked(lines, why);
    return keep_last_good(why, true);
  }
  blocked_.clear();
  DesiredState desired = make_desired(place_on_node(r.set, opts_.node));
  last_good_ = desired;
  return converge(desired, true, why);
}

// The same refusal again at a resync, retry or VM exit is logged at debug
// level: the operator has seen it, and an idle watcher stays quiet. A file
// change, SIGHUP or a restart of the watcher shows it in full again.
void Watcher::report_blocked(const std::vector<Line>& lines, WatchTrigger why) {
  std::string key;
  for (const Line& l : lines) key += l.msg + "\n";
  bool repeat = key == blocked_ && (why == WatchTrigger::Resync || why == WatchTrigger::Retry ||
                                    why == WatchTrigger::VmExit);
  blocked_ = key;
  for (const Line& l : lines) out_.log(repeat ? spdlog::level::debug : l.level, l.msg, l.fields);
}

// DIR gave nothing usable: changes nothing it asked for, prunes nothing, but
// repairs drift from the last manifests that loaded (a VM that crashed
// meanwhile comes back). `dir_ok` false: DIR itself is missing, so a retry
// is scheduled (inotify cannot say when it comes back).
Watcher::Outcome Watcher::keep_last_good(WatchTrigger why, bool dir_ok) {
  Outcome o;
  if (last_good_) o = converge(*last_good_, false, why);
  if (!dir_ok) o.ok = false;
  return o;
}

Watcher::Outcome Watcher::converge(const DesiredState& manifests, bool prune, WatchTrigger why) {
  Outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  std::string result = "failed";
  size_t repairs = 0;
  // Reported however the reconcile ends, except a stop asked before it began.
  struct Report {
    Watcher* w;
    const std::chrono::steady_clock::time_point& t0;
    std::string& result;
    size_t& repairs;
    bool stopped = false;
    ~Report() {
      if (stopped) return;
      w->out_.reconciled(result, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), repairs);
    }
  } report{this, t0, result, repairs};
  SessionOptions so = opts_.session;
  so.lock = true;
  so.wait_for_lock = true;
  so.command = "banger watch";
  so.on_lock_wait = [this](const std::string& holder) {
    out_.log(spdlog::level::info, "waiting for the host lock held by " + holder, {{"dir", dir_}});
  };
  try {
    Session s(so);
    if (signals_ && signals_->stop()) {
      report.stopped = true;
      return o;
    }
    // Tags are asked of their registries at every reconcile, so a tag that
    // moved is seen at the next resync as well as at a file change.
    std::optional<DesiredState> pinned;
    if (has_oci_sources(manifests.set)) {
      std::vector<std::string> warnings;
      pinned = with_oci_digests(manifests, s.observe().applied, /*online=*/true, &warnings);
      for (const std::string& w : warnings) out_.log(spdlog::level::warn, w, {{"trigger", to_string(why)}});
    }
    const DesiredState& desired = pinned ? *pinned : manifests;
    DiffOptions d;
    d.prune = prune;
    d.prune_under = dir_;
    // A crash-looping VM waits out its back-off; the plan's retry_at wakes us.
    d.respect_backoff = true;
    Plan plan = s.plan_apply(desired, d);
    o.retry_at = plan.retry_at;
    for (const Change& c : plan.diff.changes) repairs += c.type == ChangeType::Repair;
    if (plan.empty()) {
      result = "unchanged";
      final_errors_.clear();
      out_.log(spdlog::level::debug, std::string(to_string(why)) + ": no changes", {{"trigger", to_string(why)}});
    } else {
      // A final failure (one no retry can fix), and what it held back, is
      // reported in full once. At a resync, retry or VM exit, a plan that
      // only repeats the changes that failed so, and each action that ends
      // as it did then, goes to debug; a file change or SIGHUP shows it all.
      const bool quiet_trigger =
          why == WatchTrigger::Resync || why == WatchTrigger::Retry || why == WatchTrigger::VmExit;
      auto failed_before = [&](const std::string& resource) {
        auto it = final_errors_.lower_bound({resource, ""});
        return it != final_errors_.end() && it->first.first == resource;
      };
      bool repeat = quiet_trigger && !final_errors_.empty() && !plan.diff.nat_drift && plan.diff.disk_orphans.empty() &&
                    plan.diff.owned_orphans.empty();
      for (const Change& c : plan.diff.changes) repeat = repeat && failed_before(c.key.str());
      if (repeat) {
        out_.log(spdlog::level::debug, std::string(to_string(why)) + ": the changes that failed before, again",
                 {{"trigger", to_string(why)}, {"changes", std::to_string(plan.diff.changes.size())}});
      } else {
        out_.plan(plan, why);
      }
      static const std::atomic<bool> kNever{false};
      std::map<std::pair<std::string, std::string>, std::string> finals;
      size_t news = 0;  // actions that did not end as in the last reconcile
      ExecutionReport rep = s.execute(
          plan, desired, signals_ ? signals_->stop() : kNever, [&](const Action& a, const ActionReport* r) {
            if (!r) return;
            const std::pair<std::string, std::string> key{a.key.str(), to_string(a.type)};
            const bool final_failure = r->outcome == banger::Outcome::Failed && !retryable(r->code);
            bool same = false;
            if (final_failure || r->outcome == banger::Outcome::Skipped) {
              finals[key] = r->message;
              auto seen = final_errors_.find(key);
              same = seen != final_errors_.end() && seen->second == r->message;
            } else {
              same = r->outcome == banger::Outcome::Succeeded && repeat;
            }
            if (quiet_trigger && same) {
              out_.log(spdlog::level::debug,
                       key.first + " " + key.second + ": " + to_string(r->outcome) + ": " + r->message,
                       {{"resource", a.key.str()}, {"code", to_string(r->code)}});
              return;
            }
            ++news;
            out_.action(plan, a, *r);
          });
      if (quiet_trigger && news == 0 && !rep.ok()) {
        out_.log(spdlog::level::debug, "reconcile incomplete: the same final failures as before",
                 {{"failed", std::to_string(rep.count(banger::Outcome::Failed))}});
      } else {
        out_.executed(plan, rep);
      }
      final_errors_ = std::move(finals);
      o.ok = rep.ok() || !rep.retryable_failure();
      result = rep.ok() ? "converged" : "failed";
    }
    if (watch_processes(s, desired)) {
      // A VM died before its pidfd was open (at once after its start): look
      // again shortly, as the pidfd would have made us do.
      auto soon = std::chrono::system_clock::now() + std::chrono::seconds(1);
      o.retry_at = o.retry_at ? std::min(*o.retry_at, soon) : soon;
    }
  } catch (const std::exception& e) {
    out_.log(spdlog::level::err, std::string("reconcile failed: ") + e.what(), {{"trigger", to_string(why)}});
    o.ok = false;
  }
  return o;
}

// A pidfd for each running VM that DIR declares: its exit wakes the loop.
// VMs applied from elsewhere are not the watcher's to restart. True when a
// recorded process was found already gone (reported once per process).
bool Watcher::watch_processes(Session& s, const DesiredState& desired) {
  std::map<std::string, ProcessIdentity> procs;
  for (const VmRuntime& rt : s.store().runtimes()) {
    if (!desired.find({Kind::VM, rt.name})) continue;
    procs[rt.name] = recorded_process(rt);
  }
  std::vector<std::string> gone = pidfds_.reset(procs);
  for (const std::string& vm : gone) {
    out_.log(spdlog::level::info, "VM/" + vm + ": process exited", {{"resource", "VM/" + vm}});
  }
  return !gone.empty();
}

// Resources the store says were applied from a file inside DIR.
std::optional<size_t> Watcher::applied_from_dir() {
  try {
    Store store(opts_.session.host.state_dir);
    size_t n = 0;
    for (const ResourceRecord& r : store.resources()) n += path_within(r.source_file, dir_) ? 1 : 0;
    return n;
  } catch (const std::exception& e) {
    out_.log(spdlog::level::err, std::string("reading the state: ") + e.what());
    return std::nullopt;  // unknown, which is not "none"
  }
}

}  // namespace banger
