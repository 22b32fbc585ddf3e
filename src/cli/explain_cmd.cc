#include "cli/explain_cmd.h"

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/host_flags.h"
#include "cli/render.h"
#include "resources/field_table.h"
#include "resources/names.h"

namespace banger::cli {

namespace {

using json = nlohmann::ordered_json;

struct ExplainOptions {
  std::string what;    // "", "vm", "vm.memory"
  std::string output;  // "" or "json"
};

const std::vector<Kind> kAllKinds = {Kind::Network, Kind::Kernel, Kind::Image, Kind::VM, Kind::PortForward};

// "in place", or "restart: kernelSource, initrdSource" for a field that
// shows several values with different effects.
std::string effects(Kind kind, const json& field) {
  std::string out;
  for (const auto& s : field["shows"]) {
    std::string effect = s["effect"].get<std::string>();
    std::string what = effect == "in-place"  ? "applied in place"
                       : effect == "restart" ? "restarts the VM"
                       : kind == Kind::VM    ? "recreates its disk from the image (apply needs --replace)"
                                             : "recreates it";
    if (s["name"] != field["key"]) what = s["name"].get<std::string>() + " " + what;
    out += (out.empty() ? "" : "; ") + what;
  }
  if (out.empty() && field.contains("onChange")) return field["onChange"].get<std::string>();
  return out.empty() ? "shown with another field" : out;
}

void print_field(std::ostream& os, Kind kind, const json& f) {
  os << "  " << f["key"].get<std::string>() << (f["required"].get<bool>() ? "  (required)" : "") << "\n"
     << "    " << f["doc"].get<std::string>() << "\n"
     << "    Expected: " << f["rule"].get<std::string>() << ".\n"
     << "    On change: " << effects(kind, f) << ".\n";
}

// A Node has no spec: its metadata is all there is to say.
int explain_node(const ExplainOptions& o, const std::string& field) {
  if (!field.empty()) {
    std::cerr << "error: Node has no field " << quote(field) << " (a Node has metadata only: name and labels)\n";
    return kExitError;
  }
  json t = describe_node();
  if (o.output == "json") {
    std::cout << t.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "KIND: Node\n\n" << t["doc"].get<std::string>()
            << "\n\nFIELDS: none under spec (a Node has no spec).\n"
               "  metadata.name\n    The host's --node-name: what placement.node names.\n"
               "  metadata.labels\n    The host's --node-labels: what placement.nodeSelector matches.\n";
  return kExitOk;
}

int run_explain(const ExplainOptions& o) {
  if (o.what.empty()) {
    if (o.output == "json") {
      json all = json::array();
      for (Kind k : kAllKinds) all.push_back(describe_fields(k));
      all.push_back(describe_node());
      std::cout << all.dump(2) << "\n";
      return kExitOk;
    }
    std::cout << "KINDS:\n";
    for (Kind k : kAllKinds) {
      std::cout << "  " << kind_name(k) << "\n    " << describe_fields(k)["doc"].get<std::string>() << "\n";
    }
    std::cout << "  Node\n    " << describe_node()["doc"].get<std::string>() << "\n";
    std::cout << "\nUse \"banger explain KIND\" or \"banger explain KIND.FIELD\" for its fields.\n";
    return kExitOk;
  }
  std::string kind_text = o.what.substr(0, o.what.find('.'));
  std::string field = o.what.size() > kind_text.size() ? o.what.substr(kind_text.size() + 1) : "";
  if (field.rfind("spec.", 0) == 0) field = field.substr(5);
  std::string lower = to_lower(kind_text);
  if (lower == "node" || lower == "nodes") return explain_node(o, field);
  auto kind = parse_kind_alias(kind_text);  // as get and delete take them: vm, VMs, pf, ...
  if (!kind) {
    std::vector<std::string> kinds = all_kind_names();
    kinds.push_back(kNodeKind);
    std::cerr << "error: " << quote(kind_text) << " is not a banger kind (expected " << one_of(kinds) << ")\n";
    return kExitError;
  }
  json t = describe_fields(*kind);
  if (!field.empty()) {
    json chosen;
    std::vector<std::string> keys;
    for (const auto& f : t["fields"]) {
      keys.push_back(f["key"]);
      if (f["key"] == field) chosen = f;
    }
    if (chosen.is_null()) {
      std::string guess = suggest(field, keys);
      std::cerr << "error: " << kind_name(*kind) << " has no field " << quote(field) << " ("
                << (guess.empty() ? "expected " + one_of(keys) : "did you mean " + quote(guess) + "?") << ")\n";
      return kExitError;
    }
    t["fields"] = json::array({chosen});
  }
  if (o.output == "json") {
    std::cout << t.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "KIND: " << kind_name(*kind) << "\n\n" << t["doc"].get<std::string>() << "\n\nFIELDS (spec):\n";
  for (const auto& f : t["fields"]) print_field(std::cout, *kind, f);
  return kExitOk;
}

}  // namespace

void add_explain_command(CLI::App& app, const GlobalOptions&, std::function<int()>& run) {
  auto opts = std::make_shared<ExplainOptions>();
  CLI::App* cmd = app.add_subcommand("explain", "Describe the fields of a manifest kind");
  cmd->footer(
      "Examples:\n"
      "  # Every field of a VM: its rule, default and what a change does\n"
      "  banger explain vm\n\n"
      "  # One field\n"
      "  banger explain vm.memory\n\n"
      "  # The field tables as JSON (tests/schema/gen_schemas.py reads this)\n"
      "  banger explain -o json");
  cmd->add_option("KIND[.FIELD]", opts->what, "A kind (vm, network, ...), optionally with a field");
  add_output_option(cmd, opts->output, {"json"});
  cmd->callback([&run, opts] { run = [opts] { return run_explain(*opts); }; });
}

}  // namespace banger::cli
