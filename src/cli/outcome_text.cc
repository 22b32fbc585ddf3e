#include "cli/outcome_text.h"

namespace banger::cli {

namespace {

std::string fact(const StepDone& s, const std::string& key) {
  auto it = s.facts.find(key);
  return it == s.facts.end() ? "" : it->second;
}

// "removed 1 device-mapper device(s), 2 folder(s)": the parts that are not 0.
std::string sweep_text(const StepDone& s) {
  std::string out = "removed";
  for (const auto& [key, what] : {std::pair{"dm", "device-mapper device(s)"}, std::pair{"loops", "loop device(s)"},
                                  std::pair{"dirs", "folder(s)"}}) {
    std::string n = fact(s, key);
    if (!n.empty() && n != "0") out += (out == "removed" ? " " : ", ") + n + " " + what;
  }
  return out;
}

std::string artifact_text(const StepDone& s) {
  if (s.step == "oci.pull") {
    // "pulled sha256:509bab721caf (2 layers downloaded) in 1.4s"
    const std::string n = fact(s, "layers downloaded");
    return s.result == "pulled" ? "pulled " + fact(s, "digest") + " (" + n + (n == "1" ? " layer" : " layers") +
                                      " downloaded) in " + fact(s, "seconds")
                                : fact(s, "digest") + " in the image cache";
  }
  if (s.step == "artifact.fetch") {
    return s.result == "downloaded"
               ? "downloaded " + fact(s, "size") + " in " + fact(s, "seconds") + ", " + fact(s, "sha256") + " verified"
               : fact(s, "sha256") + " in the artifact store";
  }
  if (s.result == "verified") return "verified sha256";
  if (s.result == "unchanged") return "sha256 verified (unchanged since last check)";
  return s.result;  // "found"
}

std::string step_text(const StepDone& s) {
  const std::string& st = s.step;
  if (st == "bridge.ensure" || st == "bridge.delete") return "bridge " + s.object + " " + s.result;
  if (st == "tap.ensure") return "tap " + s.object + " " + s.result;
  // "killed": the guest did not shut down within --grace.
  const std::string killed = fact(s, "stop") == "killed" ? " (killed: no shutdown within --stop-timeout)" : "";
  if (st == "vm.stop_for_restart") return "stopped for restart" + killed;
  if (st == "disk.remove") return "old disk removed";
  if (st == "disk.ensure") {
    return s.result == "grown" ? "disk grown to " + fact(s, "size") : "disk " + s.result + " by " + fact(s, "method");
  }
  if (st == "guest.prepare") {
    // "guest files written, NoCloud seed attached, host key pinned"
    std::string what;
    if (fact(s, "files") == "written") what = "guest files written";
    if (!fact(s, "seed").empty()) what += std::string(what.empty() ? "" : ", ") + "NoCloud seed attached";
    return what + ", host key " + (fact(s, "hostKey") == "pinned" ? "pinned" : "left to first use");
  }
  if (st == "vm.start") return "started as " + fact(s, "runtime") + " (pid " + fact(s, "pid") + ", " + fact(s, "ip") + ")";
  if (st == "vm.stop") return "stopped" + killed;
  if (st == "vm.reap") return "killed " + fact(s, "count") + " unrecorded process(es) of an interrupted run";
  if (st == "vm.delete") {
    return "process, tap " + fact(s, "tap") + ", disk and address " + fact(s, "ip") + " removed" + killed;
  }
  if (st == "nat.sync") {
    return fact(s, "masquerades") + " masquerade and " + fact(s, "forwards") + " forward rule sets written";
  }
  if (st == "disks.sweep") return sweep_text(s);
  if (st == "owned.delete") return fact(s, "type") + " " + s.object + " of " + fact(s, "owner") + " " + s.result;
  if (st == "journal.close") return "closed " + fact(s, "entries") + " unfinished step(s) whose owner is gone";
  if (st.rfind("artifact.", 0) == 0 || st == "oci.pull") return artifact_text(s);
  if (st == "dns.route") return s.object + ": systemd-resolved sends ." + fact(s, "domain") + " names to " + fact(s, "bridge");
  return st + (s.object.empty() ? "" : " " + s.object) + ": " + s.result;
}

}  // namespace

std::string outcome_text(const ActionOutcome& o) {
  if (o.steps.empty()) return o.note;
  // A Kernel's file and its initrd: one phrase when both fared alike.
  if (o.steps.size() == 2 && o.steps[0].step.rfind("artifact.", 0) == 0) {
    std::string kernel = step_text(o.steps[0]), initrd = step_text(o.steps[1]);
    return kernel == initrd ? kernel : "kernel " + kernel + ", initrd " + initrd;
  }
  std::string out;
  for (const StepDone& s : o.steps) out += (out.empty() ? "" : ", ") + step_text(s);
  return out;
}

std::string report_message(const ActionReport& r) {
  return r.outcome == Outcome::Succeeded ? outcome_text(r.done) : r.message;
}

std::string report_text(const ActionReport& r) {
  return r.outcome == Outcome::Succeeded ? outcome_text(r.done) : std::string(to_string(r.outcome)) + ": " + r.message;
}

nlohmann::ordered_json outcome_json(const ActionOutcome& o) {
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const StepDone& s : o.steps) {
    nlohmann::ordered_json facts = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.facts) facts[k] = v;
    steps.push_back({{"step", s.step}, {"object", s.object}, {"result", s.result}, {"facts", facts}});
  }
  return steps;
}

}  // namespace banger::cli
