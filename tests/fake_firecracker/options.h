// Command line of fake-firecracker: the same flags, parser rules and exit
// codes as Firecracker v1.16.1's own ArgParser (src/utils/src/arg_parser.rs),
// so that a driver which launches the double launches the real binary too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace fakefc {

inline constexpr const char* kVersion = "1.16.1";
inline constexpr const char* kDefaultInstanceId = "anonymous-instance";
// Firecracker's HTTP_MAX_PAYLOAD_SIZE (src/vmm/src/lib.rs).
inline constexpr std::size_t kDefaultMaxPayload = 51200;

// Exit codes of FcExitCode (src/vmm/src/lib.rs) that the double can produce.
inline constexpr int kExitOk = 0;
inline constexpr int kExitGeneric = 1;
inline constexpr int kExitBadConfiguration = 152;
inline constexpr int kExitArgParsing = 153;

struct Options {
  std::string api_sock;
  std::string id = kDefaultInstanceId;
  std::optional<std::string> log_path;
  std::optional<std::string> level;
  std::optional<std::string> module;
  bool show_level = false;
  bool show_log_origin = false;
  std::optional<std::string> metrics_path;
  bool boot_timer = false;
  bool enable_pci = false;
  std::string max_payload = std::to_string(kDefaultMaxPayload);
  // Accepted for fidelity but refused at startup: the double only speaks the API.
  std::optional<std::string> config_file;
  std::optional<std::string> metadata;
  std::optional<std::string> describe_snapshot;
  bool no_api = false;
};

// What main() should do after parsing.
struct ParseOutcome {
  enum class Action { kRun, kPrintHelp, kPrintVersion, kPrintSnapshotVersion, kFail };
  Action action = Action::kRun;
  Options options;
  // For kFail: Firecracker's Display text and Debug text of the parser error.
  std::string error_display;
  std::string error_debug;
};

// argv as given to main(); argv[0] is skipped.
ParseOutcome parse_command_line(int argc, char** argv);

std::string help_text();

// validate_instance_id (src/utils/src/validators.rs): 1..64 chars of
// alphanumerics and '-'. Returns the Debug text of the error, if any.
std::optional<std::string> instance_id_error(const std::string& id);

}  // namespace fakefc
