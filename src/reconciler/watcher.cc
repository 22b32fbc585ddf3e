#include "reconciler/watcher.h"

#include "drivers/sd_notify.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "common/host_error.h"
#include "reconciler/source_path.h"
#include "resources/quantity.h"

namespace banger {

namespace {

using Steady = std::chrono::steady_clock;

// The plan's retry time is wall-clock (it may come from records); the loop
// sleeps on the monotonic clock.
std::optional<Steady::time_point> to_steady(std::optional<std::chrono::system_clock::time_point> t) {
  if (!t) return std::nullopt;
  auto left = *t - std::chrono::system_clock::now();
  return Steady::now() + std::chrono::duration_cast<Steady::duration>(left);
}

}  // namespace

Watcher::Watcher(WatchOptions opts, WatchReporter& out) : opts_(std::move(opts)), out_(out) {}

Watcher::~Watcher() = default;

int Watcher::run() {
  WatchScheduleOptions so;
  so.debounce = opts_.debounce;
  // A burst that never pauses (a file rewritten in a loop) still gets applied.
  so.max_delay = std::max<Steady::duration>(std::chrono::seconds(2), 10 * opts_.debounce);
  so.resync = opts_.resync;
  WatchSchedule schedule(so);
  signals_ = std::make_unique<SignalPipe>();
  if (opts_.git) {
    if (!start_git(schedule)) return 1;
  } else {
    dir_ = normalize_dir_path(opts_.dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir_, ec)) {
      out_.log(spdlog::level::err,
               opts_.dir + ": not a folder (banger watch needs the folder of manifests to keep the host equal to)",
               {{"dir", dir_}});
      return 1;
    }
    try {
      watch_ = std::make_unique<DirWatch>(dir_);
    } catch (const HostError& e) {
      out_.log(spdlog::level::err, std::string("cannot watch ") + dir_ + ": " + e.what(), {{"dir", dir_}});
      return 1;
    }
    out_.log(spdlog::level::info,
             "watching " + dir_ + " (" + std::to_string(watch_->watched()) +
                 (watch_->watched() == 1 ? " folder" : " folders") + "; resync every " +
                 format_duration(opts_.resync) + ", debounce " + format_duration(opts_.debounce) + ")",
             {{"dir", dir_}});
    schedule.request(WatchTrigger::Start);
  }

  // Under systemd (Type=notify): ready once the first reconcile ran, and a
  // watchdog ping at half the interval it asked for, also while idle.
  const auto watchdog = sd_watchdog_interval();
  bool ready = false;
  if (git_ && git_tree_.id.empty() && schedule.due(Steady::now()) == WatchTrigger::None) {
    // No commit yet (the first fetch failed, nothing from before): running
    // and retrying is this service's ready state; it converges once one comes.
    ready = true;
    sd_notify_state("READY=1\nSTATUS=waiting for a first fetch of " + opts_.git->url);
  }
  auto ping = [&] {
    if (watchdog.count() == 0 || Steady::now() < next_ping_) return;
    sd_notify_state("WATCHDOG=1");
    next_ping_ = Steady::now() + watchdog / 2;
  };
  watchdog_ = watchdog / 2;
  while (!signals_->stop()) {
    ping();
    if (git_) fetch_if_due(schedule);
    WatchTrigger why = schedule.due(Steady::now());
    if (why == WatchTrigger::None) {
      wait_for_events(schedule);
      continue;
    }
    Outcome o = reconcile(why);
    if (git_) git_reconciled(o);
    if (!ready) {
      ready = true;
      sd_notify_state("READY=1\nSTATUS=watching " + dir_);
    }
    if (signals_->stop()) break;
    schedule.reconciled(Steady::now(), o.ok, to_steady(o.retry_at));
  }
  sd_notify_state("STOPPING=1");
  out_.log(spdlog::level::info, "stopping on signal; VMs keep running", {{"dir", dir_}});
  signals_.reset();
  return 0;
}

void Watcher::wait_for_events(WatchSchedule& schedule) {
  int timeout = -1;
  std::optional<Steady::time_point> wake = schedule.next_wake();
  if (watchdog_.count() && (!wake || next_ping_ < *wake)) wake = next_ping_;  // the next watchdog ping
  if (git_ && (!wake || next_fetch_ < *wake)) wake = next_fetch_;             // the next git fetch
  if (wake) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Steady::now()).count();
    timeout = static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
  }
  // With a git source there is no folder to watch: -1 is ignored by poll.
  std::vector<pollfd> fds{{signals_->fd(), POLLIN, 0}, {watch_ ? watch_->fd() : -1, POLLIN, 0}};
  pidfds_.add_pollfds(fds);
  int rc = poll(fds.data(), fds.size(), timeout);
  if (rc < 0 && errno != EINTR) {
    out_.log(spdlog::level::err, std::string("poll: ") + std::strerror(errno));
    return;
  }
  if (fds[0].revents) signals_->drain();
  if (signals_->take_hangup()) {
    out_.log(spdlog::level::info, "SIGHUP: reconciling now", {{"dir", dir_}});
    schedule.request(WatchTrigger::Signal);
  }
  if (watch_ && fds[1].revents) {
    DirEvents ev = watch_->read();
    if (ev.overflow) {
      out_.log(spdlog::level::warn, "inotify queue overflowed: events were lost; reading the whole folder again",
               {{"dir", dir_}});
    }
    if (ev.root_gone && !root_gone_) {
      root_gone_ = true;
      out_.log(spdlog::level::err, dir_ + " was deleted or moved: nothing is pruned; waiting for it to come back",
               {{"dir", dir_}});
    }
    if (ev.changed) {
      std::string what;
      std::vector<std::string> seen;
      for (const std::string& p : ev.paths) {
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
        seen.push_back(p);
        what += (what.empty() ? "" : ", ") + p;
      }
      out_.log(spdlog::level::debug, "changed: " + what, {{"dir", dir_}});
      schedule.files_changed(Steady::now());
    }
  }
  bool exited = std::any_of(fds.begin() + 2, fds.end(), [](const pollfd& p) { return p.revents != 0; });
  if (exited) {
    for (const std::string& vm : pidfds_.take_exited()) {
      out_.log(spdlog::level::info, "VM/" + vm + ": process exited", {{"resource", "VM/" + vm}});
      schedule.request(WatchTrigger::VmExit);
    }
  }
}

}  // namespace banger
