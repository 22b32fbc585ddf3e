#include "cli/watch_log.h"

#include "cli/outcome_text.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/plan_render.h"

namespace banger::cli {

namespace {

using json = nlohmann::ordered_json;

// A structured line travels through spdlog as this byte followed by a JSON
// object of its fields; a plain spdlog call (a driver's debug line) has no
// such prefix and becomes {"msg": ...}.
constexpr char kFieldsMark = '\x1f';

std::string iso_time(spdlog::log_clock::time_point t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = spdlog::log_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    json j;
    j["time"] = iso_time(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    std::string payload(msg.payload.data(), msg.payload.size());
    json fields;
    if (!payload.empty() && payload[0] == kFieldsMark) {
      fields = json::parse(payload.begin() + 1, payload.end(), nullptr, false);
    }
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    } else {
      j["msg"] = payload;
    }
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

std::string seconds(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << s;
  return o.str();
}

}  // namespace

void setup_watch_logging(const std::string& format, spdlog::level::level_enum level) {
  auto logger = spdlog::default_logger();
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    // journald adds its own timestamp, but a log written to a file or read on
    // a terminal needs one too.
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z %l %v"));
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // a line per event, seen at once
}

void LogReporter::log(spdlog::level::level_enum level, const std::string& msg, const LogFields& fields) {
  if (!json_) {
    spdlog::log(level, "{}", msg);
    return;
  }
  json j;
  j["msg"] = msg;
  for (const auto& [k, v] : fields) j[k] = v;
  spdlog::log(level, "{}{}", kFieldsMark, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

void LogReporter::plan(const Plan& plan, WatchTrigger why) {
  log(spdlog::level::info, std::string(to_string(why)) + ": " + plan_summary(plan),
      {{"trigger", to_string(why)}, {"changes", std::to_string(plan.diff.changes.size())}});
  for (const Change& c : plan.diff.changes) {
    std::string line = std::string(glyph(c.type)) + " " + c.key.str();
    if (c.type == ChangeType::Replace) line += " (replace)";
    else if (c.restart) line += " (restart)";
    std::string detail;
    for (const FieldChange& f : c.fields) {
      detail += (detail.empty() ? "" : ", ") + f.field + ": " + (f.before.empty() ? "(none)" : f.before) +
                " -> " + (f.after.empty() ? "(none)" : f.after);
    }
    for (const std::string& d : c.drift) detail += (detail.empty() ? "" : ", ") + d;
    if (!detail.empty()) line += ": " + detail;
    log(spdlog::level::info, line,
        {{"resource", c.key.str()}, {"change", to_string(c.type)}, {"source", c.source_file}});
  }
  if (plan.diff.nat_drift) {
    log(spdlog::level::info, "! table ip banger: rules differ from the manifests",
        {{"resource", "table ip banger"}, {"change", "repair"}});
  }
}

void LogReporter::action(const Plan&, const Action& a, const ActionReport& r) {
  std::string what = describe_action(a);
  std::string text = report_text(r);
  auto level = r.outcome == Outcome::Succeeded ? spdlog::level::info
               : r.outcome == Outcome::Failed  ? spdlog::level::err
                                               : spdlog::level::warn;
  log(level, what + ": " + text + " [" + seconds(r.seconds) + "s]",
      {{"resource", what}, {"action", to_string(a.type)}, {"outcome", to_string(r.outcome)},
       {"message", report_message(r)}, {"seconds", seconds(r.seconds)}});
}

void LogReporter::executed(const Plan&, const ExecutionReport& r) {
  size_t ok = r.count(Outcome::Succeeded), failed = r.count(Outcome::Failed),
         skipped = r.count(Outcome::Skipped), cancelled = r.count(Outcome::Cancelled);
  LogFields f{{"succeeded", std::to_string(ok)}, {"failed", std::to_string(failed)},
              {"skipped", std::to_string(skipped)}, {"cancelled", std::to_string(cancelled)}};
  if (r.ok()) {
    log(spdlog::level::info, "reconcile complete: " + std::to_string(ok) + " actions succeeded", f);
  } else {
    log(spdlog::level::err,
        "reconcile incomplete: " + std::to_string(failed) + " failed, " + std::to_string(skipped) + " skipped, " +
            std::to_string(cancelled) + " cancelled, " + std::to_string(ok) + " succeeded",
        f);
  }
}

}  // namespace banger::cli
