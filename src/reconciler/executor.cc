#include "reconciler/executor.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace banger {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Succeeded: return "succeeded";
    case Outcome::Failed: return "failed";
    case Outcome::Skipped: return "skipped";
    case Outcome::Cancelled: return "cancelled";
  }
  return "?";
}

bool ExecutionReport::ok() const { return count(Outcome::Succeeded) == actions.size(); }

size_t ExecutionReport::count(Outcome o) const {
  size_t n = 0;
  for (const auto& a : actions) n += a.outcome == o ? 1 : 0;
  return n;
}

bool ExecutionReport::retryable_failure() const {
  for (const auto& a : actions) {
    if (a.outcome == Outcome::Failed && retryable(a.code)) return true;
  }
  return false;
}

namespace {

enum class State { Waiting, Running, Done };

class Scheduler {
 public:
  Scheduler(const Plan& plan, const ActionRunner& run, const std::atomic<bool>& stop,
            const ProgressFn& progress)
      : plan_(plan), run_(run), stop_(stop), progress_(progress),
        state_(plan.actions.size(), State::Waiting),
        outcome_(plan.actions.size(), Outcome::Skipped) {}

  void worker() {
    std::unique_lock lock(mu_);
    while (true) {
      settle_blocked();
      int next = ready();
      if (next < 0) {
        if (remaining_ == 0 || (running_ == 0 && next < 0)) {
          cv_.notify_all();
          return;
        }
        cv_.wait(lock);
        continue;
      }
      const Action& a = plan_.actions[static_cast<size_t>(next)];
      state_[static_cast<size_t>(next)] = State::Running;
      ++running_;
      if (progress_) progress_(a, nullptr);
      lock.unlock();
      ActionReport r{a.id, Outcome::Succeeded, "", 0};
      auto t0 = std::chrono::steady_clock::now();
      try {
        r.done = run_(a);
      } catch (const HostError& e) {
        r.outcome = Outcome::Failed;
        r.message = e.what();
        r.code = e.code();
      } catch (const std::exception& e) {
        r.outcome = Outcome::Failed;
        r.message = e.what();
      }
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      lock.lock();
      --running_;
      finish(a.id, r);
      cv_.notify_all();
    }
  }

  ExecutionReport report() { return std::move(report_); }

 private:
  void finish(int id, ActionReport r) {
    state_[static_cast<size_t>(id)] = State::Done;
    outcome_[static_cast<size_t>(id)] = r.outcome;
    --remaining_;
    if (progress_) progress_(plan_.actions[static_cast<size_t>(id)], &r);
    report_.actions.push_back(std::move(r));
  }

  // Marks as skipped the waiting actions whose needs failed, and as
  // cancelled everything waiting once a stop was asked for.
  void settle_blocked() {
    bool changed = true;
    while (changed) {
      changed = false;
      for (const Action& a : plan_.actions) {
        if (state_[static_cast<size_t>(a.id)] != State::Waiting) continue;
        if (stop_) {
          finish(a.id, {a.id, Outcome::Cancelled, "not started: interrupted", 0});
          changed = true;
          continue;
        }
        for (int n : a.needs) {
          if (state_[static_cast<size_t>(n)] == State::Done &&
              outcome_[static_cast<size_t>(n)] != Outcome::Succeeded) {
            const Action& dep = plan_.actions[static_cast<size_t>(n)];
            std::string what = dep.key.name.empty() ? to_string(dep.type) : dep.key.str();
            finish(a.id, {a.id, Outcome::Skipped, what + " did not succeed", 0});
            changed = true;
            break;
          }
        }
      }
    }
  }

  int ready() const {
    for (const Action& a : plan_.actions) {
      if (state_[static_cast<size_t>(a.id)] != State::Waiting) continue;
      bool ok = true;
      for (int n : a.needs) ok = ok && state_[static_cast<size_t>(n)] == State::Done;
      for (int n : a.after) ok = ok && state_[static_cast<size_t>(n)] == State::Done;
      if (ok) return a.id;
    }
    return -1;
  }

  const Plan& plan_;
  const ActionRunner& run_;
  const std::atomic<bool>& stop_;
  const ProgressFn& progress_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<State> state_;
  std::vector<Outcome> outcome_;
  size_t remaining_ = plan_.actions.size();
  int running_ = 0;
  ExecutionReport report_;
};

}  // namespace

ExecutionReport execute(const Plan& plan, const ActionRunner& run, int workers,
                        const std::atomic<bool>& stop, const ProgressFn& progress) {
  Scheduler s(plan, run, stop, progress);
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, workers); ++i) pool.emplace_back([&] { s.worker(); });
  s.worker();
  for (auto& t : pool) t.join();
  return s.report();
}

}  // namespace banger
