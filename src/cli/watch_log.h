// How `banger watch` logs: one line per event on stderr (journald takes it
// as is), with a timestamp; text for people, or one JSON object per line
// (`--log-format json`: time, level, msg, plus fields such as resource,
// action, outcome) for machines. Every spdlog line of the process, drivers'
// debug lines included, goes through the same format.
#pragma once

#include <string>

#include "reconciler/watcher.h"

namespace banger::cli {

/// Sets the default logger's format ("text" or "json") and level.
void setup_watch_logging(const std::string& format, spdlog::level::level_enum level);

/// Renders the watcher's events through the default logger.
class LogReporter : public WatchReporter {
 public:
  explicit LogReporter(bool json) : json_(json) {}
  void log(spdlog::level::level_enum level, const std::string& msg, const LogFields& fields = {}) override;
  void plan(const Plan& plan, WatchTrigger why) override;
  void action(const Plan& plan, const Action& a, const ActionReport& r) override;
  void executed(const Plan& plan, const ExecutionReport& r) override;

 private:
  bool json_;
};

}  // namespace banger::cli
