// How a plan and its execution look: terraform-like text for people, stable
// JSON for tools. Rendering only; the plan is computed elsewhere.
#pragma once

#include <ostream>
#include <string>

#include "reconciler/executor.h"
#include "reconciler/plan.h"

namespace banger::cli {

/// "+ VM/web-1", "~ VM/web-2 (restart)" with field lines, then "Plan: ...".
void render_plan(std::ostream& out, const Plan& plan);
/// "Plan: 1 to create, 2 to update, ..." or "No changes. ..."
std::string plan_summary(const Plan& plan);
/// {"schemaVersion":1,"changed":bool,
///  "changes":[{"action","kind","name","source","restart","fields":[...],"drift":[...]}],
///  "natDrift":bool,"summary":{"create":N,...}}
/// A stable, documented shape (docs/plan-json.md): fields are only ever added;
/// a change to existing ones bumps schemaVersion.
std::string plan_json(const Plan& plan);
inline constexpr int kPlanJsonSchemaVersion = 1;

/// One line per finished action for apply's progress.
std::string describe_action(const Action& a);
/// "Apply complete: ..." / the failures, one per line.
/// `verb` is "Apply" or "Delete".
void render_report(std::ostream& out, const Plan& plan, const ExecutionReport& report,
                   const std::string& verb);
std::string report_json(const Plan& plan, const ExecutionReport& report);

}  // namespace banger::cli
