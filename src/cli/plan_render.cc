#include "cli/plan_render.h"

#include "cli/outcome_text.h"

#include <map>
#include <nlohmann/json.hpp>

namespace banger::cli {

namespace {

const char* effect_note(FieldEffect e) {
  switch (e) {
    case FieldEffect::InPlace: return "";
    case FieldEffect::Restart: return "  # restart";
    case FieldEffect::Replace: return "  # forces replacement";
  }
  return "";
}

std::string shown(const std::string& v) { return v.empty() ? "(none)" : v; }

std::map<ChangeType, size_t> counts(const Plan& plan) {
  std::map<ChangeType, size_t> n;
  for (const Change& c : plan.diff.changes) ++n[c.type];
  return n;
}

}  // namespace

std::string plan_summary(const Plan& plan) {
  if (plan.empty()) return "No changes. The host matches the manifests.";
  auto n = counts(plan);
  std::string out = "Plan: " + std::to_string(n[ChangeType::Create]) + " to create, " +
                    std::to_string(n[ChangeType::Update]) + " to update, " +
                    std::to_string(n[ChangeType::Replace]) + " to replace, " +
                    std::to_string(n[ChangeType::Repair]) + " to repair, " +
                    std::to_string(n[ChangeType::Delete]) + " to delete.";
  if (plan.diff.nat_drift) out += " Table ip banger will be rewritten.";
  if (!plan.diff.disk_orphans.empty()) {
    out += " " + std::to_string(plan.diff.disk_orphans.describe().size()) + " leftover disk object(s) will be removed.";
  }
  if (!plan.diff.owned_orphans.empty()) {
    out += " " + std::to_string(plan.diff.owned_orphans.describe().size()) +
           " leftover(s) of interrupted runs will be cleaned up.";
  }
  if (!plan.diff.dns_orphans.empty()) {
    out += " " + std::to_string(plan.diff.dns_orphans.size()) + " DNS server(s) will be stopped.";
  }
  return out;
}

void render_plan(std::ostream& out, const Plan& plan) {
  for (const Change& c : plan.diff.changes) {
    out << "  " << glyph(c.type) << " " << c.key.str();
    if (c.data_loss) out << " (disk will be recreated: data loss)";
    else if (c.type == ChangeType::Replace) out << " (replace)";
    else if (c.restart) out << " (restart)";
    else if (c.type == ChangeType::Repair) out << " (repair)";
    out << "\n";
    for (const FieldChange& f : c.fields) {
      out << "      " << f.field << ": " << shown(f.before) << " -> " << shown(f.after)
          << effect_note(f.effect) << "\n";
    }
    for (const std::string& d : c.drift) out << "      " << d << "\n";
    for (const std::string& n : c.notes) out << "      " << n << "\n";
    if (!c.error.empty()) out << "      error: " << c.error << "\n";
    else if (c.data_loss && !c.replace_accepted)
      out << "      apply refuses this unless run with --replace " << c.key.str() << "\n";
  }
  if (plan.diff.nat_drift) out << "  ! table ip banger (repair)\n      rules differ from the manifests\n";
  if (!plan.diff.disk_orphans.empty()) {
    out << "  - leftover disks (no record explains them)\n";
    for (const std::string& d : plan.diff.disk_orphans.describe()) out << "      " << d << "\n";
  }
  if (!plan.diff.owned_orphans.empty()) {
    out << "  - leftovers of interrupted runs (their owner has no record)\n";
    for (const std::string& d : plan.diff.owned_orphans.describe()) out << "      " << d << "\n";
  }
  if (!plan.diff.dns_orphans.empty()) {
    out << "  - DNS servers of networks that are gone or have dns off\n";
    for (const std::string& n : plan.diff.dns_orphans) out << "      dnsmasq of Network/" << n << "\n";
  }
  if (!plan.empty()) out << "\n";
  out << plan_summary(plan) << "\n";
}

std::string plan_json(const Plan& plan) {
  using json = nlohmann::ordered_json;
  json changes = json::array();
  for (const Change& c : plan.diff.changes) {
    json fields = json::array();
    for (const FieldChange& f : c.fields) {
      fields.push_back({{"field", f.field},
                        {"before", f.before},
                        {"after", f.after},
                        {"effect", f.effect == FieldEffect::InPlace   ? "in-place"
                                   : f.effect == FieldEffect::Restart ? "restart"
                                                                      : "replace"}});
    }
    changes.push_back({{"action", to_string(c.type)},
                       {"kind", kind_name(c.key.kind)},
                       {"name", c.key.name},
                       {"source", c.source_file},
                       {"restart", c.restart},
                       {"fields", fields},
                       {"drift", c.drift},
                       {"notes", c.notes},
                       {"dataLoss", c.data_loss},
                       {"replaceAccepted", c.replace_accepted},
                       {"error", c.error}});
  }
  auto n = counts(plan);
  json summary = {{"create", n[ChangeType::Create]}, {"update", n[ChangeType::Update]},
                  {"replace", n[ChangeType::Replace]}, {"repair", n[ChangeType::Repair]},
                  {"delete", n[ChangeType::Delete]}};
  // schemaVersion and changed came after the first release: tools that read
  // only changes/natDrift/summary keep working (docs/plan-json.md).
  json leftovers = plan.diff.disk_orphans.describe();
  for (const std::string& d : plan.diff.owned_orphans.describe()) leftovers.push_back(d);
  for (const std::string& n : plan.diff.dns_orphans) leftovers.push_back("dnsmasq of Network/" + n + " (no DNS network)");
  json out = {{"schemaVersion", kPlanJsonSchemaVersion}, {"changed", !plan.empty()}, {"changes", changes},
              {"natDrift", plan.diff.nat_drift}, {"leftovers", leftovers},
              {"summary", summary}};
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string describe_action(const Action& a) {
  if (a.type == ActionType::SweepDisks) return "leftover disks";
  if (a.type == ActionType::SweepOwned) return "leftovers of interrupted runs";
  if (a.type == ActionType::SyncDns) return "network DNS servers";
  return a.key.name.empty() ? std::string("table ip banger") : a.key.str();
}

void render_report(std::ostream& out, const Plan& plan, const ExecutionReport& report,
                   const std::string& verb) {
  size_t failed = report.count(Outcome::Failed), skipped = report.count(Outcome::Skipped),
         cancelled = report.count(Outcome::Cancelled);
  if (report.ok()) {
    out << verb << " complete: " << report.actions.size() << " actions succeeded.\n";
    return;
  }
  out << verb << " failed: " << failed << " failed, " << skipped << " skipped, " << cancelled
      << " cancelled, " << report.count(Outcome::Succeeded) << " succeeded.\n";
  for (const ActionReport& r : report.actions) {
    if (r.outcome == Outcome::Succeeded) continue;
    const Action& a = plan.actions[static_cast<size_t>(r.action)];
    out << "  " << describe_action(a) << ": " << to_string(r.outcome) << ": " << r.message << "\n";
  }
}

std::string report_json(const Plan& plan, const ExecutionReport& report) {
  using json = nlohmann::ordered_json;
  json actions = json::array();
  for (const ActionReport& r : report.actions) {
    const Action& a = plan.actions[static_cast<size_t>(r.action)];
    actions.push_back({{"action", to_string(a.type)},
                       {"kind", a.key.name.empty() ? "" : kind_name(a.key.kind)},
                       {"name", a.key.name},
                       {"outcome", to_string(r.outcome)},
                       {"message", report_message(r)},
                       {"steps", outcome_json(r.done)},
                       {"seconds", r.seconds}});
  }
  json out = {{"plan", json::parse(plan_json(plan))}, {"actions", actions}, {"ok", report.ok()}};
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace banger::cli
