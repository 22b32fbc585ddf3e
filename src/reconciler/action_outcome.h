// What an action did, as data: each step that changed something on the host,
// named as logs, errors and fault injection name it (vm.start, tap.ensure),
// with the object it acted on, its result and the facts worth showing. The
// CLI words it (cli/outcome_text.cc); JSON output carries it as it is.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace banger {

struct StepDone {
  std::string step;    ///< "bridge.ensure", "tap.ensure", "disk.ensure", "vm.start", "nat.sync", ...
  std::string object;  ///< what it acted on: "bg-lab", "bg-tap-web", "spec.initrd"; "" for the resource itself
  std::string result;  ///< "created", "updated", "deleted", "grown", "started", "stopped", "downloaded", ...
  std::map<std::string, std::string> facts;  ///< {"pid": "4242", "runtime": "qemu/tcg", "ip": "10.0.0.2"}
  friend bool operator==(const StepDone&, const StepDone&) = default;
};

struct ActionOutcome {
  std::vector<StepDone> steps;
  /// When no step changed the host: "up to date", "recorded", "record updated", "deleted".
  std::string note;

  static ActionOutcome noted(std::string note) { return {{}, std::move(note)}; }
  ActionOutcome& add(StepDone s) {
    steps.push_back(std::move(s));
    return *this;
  }
};

}  // namespace banger
