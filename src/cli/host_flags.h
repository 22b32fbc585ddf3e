// Flags and checks shared by the commands that observe or change the host.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/options.h"
#include "resources/label_selector.h"
#include "reconciler/runtime_choice.h"
#include "reconciler/session.h"
#include "resources/model.h"

namespace banger::cli {

struct HostFlags {
  std::string firecracker;  ///< --firecracker PATH
  std::string accel;        ///< --accel kvm|tcg|auto; "" = BANGER_ACCEL, else auto
  std::string stop_timeout = "10s";
  bool no_wait = false;
  std::string lock_timeout;  ///< --lock-timeout; "" = wait as long as it takes
};

void add_host_flags(CLI::App* cmd, HostFlags& flags, bool changes_host);
/// --accel kvm|tcg|auto on `cmd` (every command that plans or reports VMs).
void add_accel_flag(CLI::App* cmd, std::string& accel);
/// The host-wide acceleration: --accel, else BANGER_ACCEL, else auto; and
/// which of the two said it. Throws std::runtime_error on a bad value.
std::pair<Accel, std::string> accel_setting(const std::string& flag);
/// SessionOptions from the global flags and these; throws on a bad duration.
SessionOptions session_options(const GlobalOptions& g, const HostFlags& f, bool lock,
                               const std::string& command = "banger");
/// What a run waiting for the host lock prints, once.
void say_waiting_for_lock(const std::string& holder);
/// Clears the download progress line on stderr, if one is drawn, before a
/// line goes to the same terminal.
void clear_download_line();
/// Non-root cannot read nftables or other users' processes: say so, exit 1.
bool require_root(const std::string& command, const GlobalOptions& g);
/// `-l TEXT` (kubectl's selector syntax) into `out`; "" leaves it empty.
/// False, with "Error: -l: why" on stderr, when TEXT does not parse.
bool parse_selector_flag(const std::string& text, std::optional<LabelSelector>& out);
/// diff and state export by a reader without root, who cannot list
/// nftables: says so on stderr (unless --quiet).
void note_unlisted_nat(const ObservedState& o, const GlobalOptions& g, const std::string& why);
/// "vm", "vms", "VM", "pf", "portforwards", ... -> Kind.
std::optional<Kind> parse_kind_alias(const std::string& s);

}  // namespace banger::cli
