#include "cli/host_flags.h"

#include "common/reader_group.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <iostream>
#include <memory>

#include "drivers/download_progress.h"

#include "resources/quantity.h"

namespace banger::cli {

namespace {
// The download bar of this run, so apply's action lines can clear it first.
std::weak_ptr<DownloadRenderer> g_download_bar;
}  // namespace

void clear_download_line() {
  if (auto bar = g_download_bar.lock()) bar->clear();
}

void add_accel_flag(CLI::App* cmd, std::string& accel) {
  cmd->add_option("--accel", accel,
                  "VM acceleration for the whole host: kvm, tcg (software emulation) or auto (else "
                  "$BANGER_ACCEL, else auto: KVM where it can boot an ordinary guest)")
      ->type_name("kvm|tcg|auto")
      ->check(CLI::IsMember({"kvm", "tcg", "auto"}));
}

std::pair<Accel, std::string> accel_setting(const std::string& flag) {
  if (!flag.empty()) return {*parse_accel(flag), "--accel"};
  const char* env = std::getenv("BANGER_ACCEL");
  if (!env || !*env) return {Accel::Auto, "--accel"};
  auto a = parse_accel(env);
  if (!a) throw std::runtime_error("BANGER_ACCEL=" + std::string(env) + " is not one of kvm, tcg, auto");
  return {*a, "BANGER_ACCEL"};
}

void add_host_flags(CLI::App* cmd, HostFlags& flags, bool changes_host) {
  cmd->add_option("--firecracker", flags.firecracker,
                  "Firecracker binary (else $BANGER_FIRECRACKER_BIN, else firecracker on PATH)")
      ->type_name("PATH");
  add_accel_flag(cmd, flags.accel);
  if (changes_host) {
    cmd->add_option("--stop-timeout", flags.stop_timeout,
                    "How long a VM gets to shut down after Ctrl-Alt-Del before it is killed")
        ->capture_default_str();
    cmd->add_flag("--no-wait", flags.no_wait,
                  "Fail at once when another apply/delete holds the host lock");
    cmd->add_option("--lock-timeout", flags.lock_timeout,
                    "Give up after waiting this long for the host lock (e.g. 30s; default: wait)")
        ->type_name("DURATION");
  }
}

void say_waiting_for_lock(const std::string& holder) {
  std::cerr << "waiting for the host lock held by " << holder << "...\n";
}

SessionOptions session_options(const GlobalOptions& g, const HostFlags& f, bool lock, const std::string& command) {
  SessionOptions o;
  // A run that takes no lock only reads (get, diff, state export): without
  // root it reads what the group banger may (reader_group.h).
  o.read_only = !lock && geteuid() != 0;
  // Absolute: the paths end up in hypervisor command lines and API calls
  // whose working directory is the VM's run dir, and in the state DB.
  o.host.state_dir = std::filesystem::absolute(g.state_dir).lexically_normal().string();
  o.host.run_dir = std::filesystem::absolute(g.run_dir).lexically_normal().string();
  o.host.firecracker_bin = f.firecracker;
  std::tie(o.host.accel, o.host.accel_from) = accel_setting(f.accel);
  auto grace = parse_duration(f.stop_timeout);
  if (!grace) throw std::runtime_error("--stop-timeout " + f.stop_timeout + " is not a duration such as 10s");
  o.host.stop_grace = *grace;
  if (!g.quiet) {
    // Downloads: a redrawn bar on a terminal, a line per file in a log.
    auto bar = std::make_shared<DownloadRenderer>(std::cerr, ::isatty(STDERR_FILENO) == 1);
    o.host.download.progress = [bar](const DownloadProgress& p) { bar->report(p); };
    g_download_bar = bar;
  }
  o.lock = lock;
  o.wait_for_lock = !f.no_wait;
  if (!f.lock_timeout.empty()) {
    auto t = parse_duration(f.lock_timeout);
    if (!t) throw std::runtime_error("--lock-timeout " + f.lock_timeout + " is not a duration such as 30s");
    o.lock_timeout = *t;
  }
  o.command = command;
  o.on_lock_wait = say_waiting_for_lock;
  return o;
}

bool parse_selector_flag(const std::string& text, std::optional<LabelSelector>& out) {
  if (text.empty()) return true;
  std::string why;
  out = parse_label_selector(text, why);
  if (!out) std::cerr << "Error: -l: " << why << "\n";
  return out.has_value();
}

void note_unlisted_nat(const ObservedState& o, const GlobalOptions& g, const std::string& why) {
  if (o.nat_known || g.quiet) return;
  std::cerr << "note: nftables rules were not checked (" << why << ")\n";
}

bool require_root(const std::string& command, const GlobalOptions& g) {
  if (geteuid() == 0) return true;
  std::cerr << "error: banger " << command << " needs root (it changes the host, or reads what only root may, in "
            << g.state_dir << "); run it with sudo. Members of the group " << kReaderGroup
            << " may run get, logs, diff and state export without it\n";
  return false;
}

std::optional<Kind> parse_kind_alias(const std::string& s) {
  std::string k = s;
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  if (k == "vm" || k == "vms") return Kind::VM;
  if (k == "network" || k == "networks" || k == "net") return Kind::Network;
  if (k == "kernel" || k == "kernels") return Kind::Kernel;
  if (k == "image" || k == "images") return Kind::Image;
  if (k == "portforward" || k == "portforwards" || k == "pf" || k == "forward" || k == "forwards") {
    return Kind::PortForward;
  }
  return std::nullopt;
}

}  // namespace banger::cli
