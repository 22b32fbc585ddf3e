// The words for what an action did (reconciler/action_outcome.h): one line
// for apply's progress, the plan report and the watcher's log.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "reconciler/action_outcome.h"
#include "reconciler/executor.h"

namespace banger::cli {

/// "tap bg-tap-web created, disk created by reflink, started as qemu/tcg (pid 42, 10.0.0.2)"
std::string outcome_text(const ActionOutcome& o);
/// A finished action in words: what it did, or "failed: why".
std::string report_text(const ActionReport& r);
/// The same without the outcome's name: what it did, or why not.
std::string report_message(const ActionReport& r);
/// [{"step": "tap.ensure", "object": "bg-tap-web", "result": "created", "facts": {...}}, ...]
nlohmann::ordered_json outcome_json(const ActionOutcome& o);

}  // namespace banger::cli
