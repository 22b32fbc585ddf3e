#include "options.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

namespace fakefc {
namespace {

struct ArgSpec {
  const char* name;
  bool takes_value;
  const char* requires_arg;  // nullptr when none
  const char* forbids_arg;   // nullptr when none
  const char* help;
};

// Same names, arities and constraints as Firecracker's main.rs, in its order.
const std::vector<ArgSpec>& arg_specs() {
  static const std::vector<ArgSpec> specs = {
      {"api-sock", true, nullptr, nullptr, "Path to unix domain socket used by the API."},
      {"id", true, nullptr, nullptr, "MicroVM unique identifier."},
      {"seccomp-filter", true, nullptr, "no-seccomp", "Path to a custom seccomp filter."},
      {"no-seccomp", false, nullptr, "seccomp-filter", "Start without seccomp filtering."},
      {"start-time-us", true, nullptr, nullptr, "Process start time (wall clock, microseconds)."},
      {"start-time-cpu-us", true, nullptr, nullptr, "Process start CPU time (microseconds)."},
      {"parent-cpu-time-us", true, nullptr, nullptr, "Parent process CPU time (microseconds)."},
      {"config-file", true, nullptr, nullptr, "Path to a microVM configuration in JSON."},
      {"metadata", true, nullptr, nullptr, "Path to a JSON file to add to the mmds."},
      {"no-api", false, "config-file", nullptr, "Start without an API socket."},
      {"log-path", true, nullptr, nullptr, "Path to a fifo or a file used for the logger."},
      {"level", true, nullptr, nullptr, "Set the logger level."},
      {"module", true, nullptr, nullptr, "Set the logger module filter."},
      {"show-level", false, nullptr, nullptr, "Output the level in the logs."},
      {"show-log-origin", false, nullptr, nullptr, "Include file and line in the logs."},
      {"metrics-path", true, nullptr, nullptr, "Path to a fifo or a file used for metrics."},
      {"boot-timer", false, nullptr, nullptr, "Load the boot timer device."},
      {"version", false, nullptr, nullptr, "Print the binary version number."},
      {"snapshot-version", false, nullptr, nullptr, "Print the supported data format version."},
      {"describe-snapshot", true, nullptr, nullptr, "Print a snapshot's data format version."},
      {"http-api-max-payload-size", true, nullptr, nullptr, "Http API request payload max size."},
      {"mmds-size-limit", true, nullptr, nullptr, "Mmds data store limit, in bytes."},
      {"enable-pci", false, nullptr, nullptr, "Enables PCIe support."},
  };
  return specs;
}

const ArgSpec* find_spec(const std::string& name) {
  for (const auto& s : arg_specs()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

bool starts_with_dashes(const std::string& s) { return s.rfind("--", 0) == 0; }

ParseOutcome fail(const std::string& variant, const std::string& display_inner,
                  const std::string& debug_args) {
  ParseOutcome out;
  out.action = ParseOutcome::Action::kFail;
  out.error_display =
      "Arguments parsing error: " + display_inner + " \n\nFor more information try --help.";
  out.error_debug = "ParseArguments(" + variant + "(" + debug_args + "))";
  return out;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

ParseOutcome parse_command_line(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    // Everything after "--" is passed through untouched, as in Arguments::split_args.
    if (a == "--") break;
    args.push_back(a);
  }
  // --help/-h and --version short-circuit all other validation, like the real parser.
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    ParseOutcome out;
    out.action = ParseOutcome::Action::kPrintHelp;
    return out;
  }
  if (std::find(args.begin(), args.end(), "--version") != args.end()) {
    ParseOutcome out;
    out.action = ParseOutcome::Action::kPrintVersion;
    return out;
  }

  std::map<std::string, std::optional<std::string>> given;  // name -> value (nullopt for flags)
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!starts_with_dashes(arg)) {
      return fail("UnexpectedArgument",
                  "Found argument '" + arg + "' which wasn't expected, or isn't valid in this context.",
                  quoted(arg));
    }
    std::string name = arg.substr(2);
    const ArgSpec* spec = find_spec(name);
    if (!spec) {
      return fail("UnexpectedArgument",
                  "Found argument '" + name + "' which wasn't expected, or isn't valid in this context.",
                  quoted(name));
    }
    if (given.count(name)) {
      return fail("DuplicateArgument", "The argument '" + name + "' was provided more than once.",
                  quoted(name));
    }
    if (spec->takes_value) {
      if (i + 1 >= args.size() || starts_with_dashes(args[i + 1])) {
        return fail("MissingValue",
                    "The argument '" + name + "' requires a value, but none was supplied.",
                    quoted(name));
      }
      given[name] = args[++i];
    } else {
      given[name] = std::nullopt;
    }
  }
  for (const auto& [name, value] : given) {
    const ArgSpec* spec = find_spec(name);
    if (spec->requires_arg && !given.count(spec->requires_arg)) {
      return fail("MissingArgument",
                  std::string("Argument '") + spec->requires_arg + "' required, but not found.",
                  quoted(spec->requires_arg));
    }
    if (spec->forbids_arg && given.count(spec->forbids_arg)) {
      return fail("ForbiddenArgument",
                  std::string("Argument '") + spec->forbids_arg +
                      "' cannot be used together with argument '" + name + "'.",
                  quoted(name) + ", " + quoted(spec->forbids_arg));
    }
  }
  if (given.count("snapshot-version")) {
    ParseOutcome out;
    out.action = ParseOutcome::Action::kPrintSnapshotVersion;
    return out;
  }
  // The real binary defaults to /run/firecracker.socket; the double insists on
  // an explicit path so that no test can ever touch the host's default socket.
  if (!given.count("api-sock") && !given.count("no-api") && !given.count("describe-snapshot")) {
    return fail("MissingArgument", "Argument 'api-sock' required, but not found.",
                quoted("api-sock"));
  }

  ParseOutcome out;
  Options& o = out.options;
  auto value = [&](const char* name) -> std::optional<std::string> {
    auto it = given.find(name);
    if (it == given.end()) return std::nullopt;
    return it->second;
  };
  auto flag = [&](const char* name) { return given.count(name) > 0; };
  if (auto v = value("api-sock")) o.api_sock = *v;
  if (auto v = value("id")) o.id = *v;
  o.log_path = value("log-path");
  o.level = value("level");
  o.module = value("module");
  o.show_level = flag("show-level");
  o.show_log_origin = flag("show-log-origin");
  o.metrics_path = value("metrics-path");
  o.boot_timer = flag("boot-timer");
  o.enable_pci = flag("enable-pci");
  if (auto v = value("http-api-max-payload-size")) o.max_payload = *v;
  o.config_file = value("config-file");
  o.metadata = value("metadata");
  o.describe_snapshot = value("describe-snapshot");
  o.no_api = flag("no-api");
  return out;
}

std::string help_text() {
  std::string text = "optional arguments:\n";
  for (const auto& s : arg_specs()) {
    std::string left = std::string("  --") + s.name;
    if (s.takes_value) left += std::string(" <") + s.name + ">";
    text += left + "\t" + s.help + "\n";
  }
  text += "  --help\tShow the help message.\n";
  return text;
}

std::optional<std::string> instance_id_error(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return "InvalidLen(" + std::to_string(id.size()) + ", 1, 64)";
  }
  for (size_t i = 0; i < id.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(id[i]);
    if (c != '-' && !std::isalnum(c)) {
      return "InvalidChar('" + std::string(1, static_cast<char>(c)) + "', " + std::to_string(i) +
             ")";
    }
  }
  return std::nullopt;
}

}  // namespace fakefc
