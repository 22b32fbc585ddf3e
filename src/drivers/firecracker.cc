#include "drivers/firecracker.h"

#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/host_error.h"
#include "common/profile.h"
#include "drivers/vm_files.h"
#include "drivers/firecracker_api.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr auto kApiReadyTimeout = std::chrono::seconds(5);
constexpr const char* kHowToFind =
    "pass --firecracker PATH, set BANGER_FIRECRACKER_BIN=PATH, or put `firecracker` on PATH";

std::string resolve_binary(const std::string& value, const std::string& source) {
  return resolve_executable(value, source, "firecracker", kHowToFind);
}

}  // namespace

std::string find_firecracker(const std::string& flag) {
  if (!flag.empty()) return resolve_binary(flag, "--firecracker");
  if (const char* env = std::getenv("BANGER_FIRECRACKER_BIN"); env && *env) {
    return resolve_binary(env, "BANGER_FIRECRACKER_BIN");
  }
  if (auto found = search_path("firecracker")) return *found;
  const char* path = std::getenv("PATH");
  throw HostError(std::string("firecracker binary not found: ") + kHowToFind + " (PATH is \"" +
                      (path ? path : "") + "\")",
                  ErrorCode::NotFound);
}

VmHandle FirecrackerDriver::start(const VmLaunch& vm) {
  const std::string who = "VM/" + vm.name;
  if (vm.name.empty() || vm.run_dir.empty()) {
    throw HostError(who + ": start needs a name and a run dir (this is a bug in banger)");
  }
  // Absolute, so that the recorded socket path does not depend on the
  // working directory of the banger run that reads it later.
  const std::string dir = fs::absolute(vm.run_dir).lexically_normal().string();
  const std::string sock = dir + "/firecracker.sock";
  const std::string log = dir + "/console.log";
  std::optional<FirecrackerApi> api;
  try {
    make_run_dir(dir);
    api.emplace(sock);  // checks the socket path length before anything starts
    remove_socket(sock);
  } catch (const HostError& e) {
    throw HostError(who + ": preparing run dir failed: " + e.what(), e.code());
  }

  std::error_code ec;
  std::uintmax_t log_start = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
  if (ec) log_start = 0;
  ProcessIdentity proc;
  try {
    // cwd = run dir: the VM must not pin whatever folder banger ran in.
    profile::Scope p("firecracker.spawn");
    proc = spawn_detached({{binary_, "--api-sock", sock, "--id", vm.name}, log, dir, exit_status_file(dir)});
  } catch (const HostError& e) {
    unlink(sock.c_str());  // best effort: the spawn error is the one to report
    throw HostError(who + ": starting firecracker failed: " + e.what() + " (log: " + log + ")" +
                        log_tail(log, log_start),
                    e.code());
  }

  // Any failure from here on leaves nothing behind: no process, no socket.
  auto step = [&](const std::string& name, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::string tail = log_tail(log, log_start);
      try {
        kill_process(proc);
        remove_socket(sock);
      } catch (const HostError& cleanup) {
        tail += "\n  and cleaning up failed too: " + std::string(cleanup.what());
      }
      throw HostError(who + ": firecracker step " + name + " failed: " + e.what() +
                      " (log: " + log + ")" + tail);
    }
  };
  step("wait for API", [&] {
    profile::Scope p("firecracker.wait_ready");
    api->wait_ready(kApiReadyTimeout, [&] { return is_running(proc); });
  });
  profile::Scope configure("firecracker.configure");
  step("machine-config", [&] {
    api->put("/machine-config",
             json{{"vcpu_count", vm.vcpus}, {"mem_size_mib", vm.mem_mib}}.dump());
  });
  // Firecracker's fault ("The kernel file cannot be opened") names no file.
  step("boot-source (kernel " + vm.kernel_path +
           (vm.initrd_path.empty() ? "" : ", initrd " + vm.initrd_path) + ")",
       [&] {
    json boot{{"kernel_image_path", vm.kernel_path}};
    // An empty boot_args would replace Firecracker's default command line
    // with nothing; leaving it out keeps the default.
    if (!vm.boot_args.empty()) boot["boot_args"] = vm.boot_args;
    if (!vm.initrd_path.empty()) boot["initrd_path"] = vm.initrd_path;
    api->put("/boot-source", boot.dump());
  });
  // PUT /drives/ID: the root first, so that the guest sees it as vda.
  auto drive = [&](const std::string& id, const std::string& path, bool root) {
    step("drives/" + id, [&] {
      api->put("/drives/" + id, json{{"drive_id", id},
                                     {"path_on_host", path},
                                     {"is_root_device", root},
                                     {"is_read_only", !root}}
                                    .dump());
    });
  };
  drive("rootfs", vm.rootfs_path, true);
  if (!vm.seed_path.empty()) drive("seed", vm.seed_path, false);  // the NoCloud seed, read-only
  step("network-interfaces/eth0", [&] {
    // Firecracker opens the tap by name (TUNSETIFF), and as root that
    // creates a missing one: the VM would run with its NIC wired to nothing.
    if (vm.tap.empty() || ::if_nametoindex(vm.tap.c_str()) == 0) {
      throw HostError("tap \"" + vm.tap + "\" does not exist (Firecracker would create an unconnected one)",
                      ErrorCode::NotFound);
    }
    json nic{{"iface_id", "eth0"}, {"host_dev_name", vm.tap}};
    if (!vm.mac.empty()) nic["guest_mac"] = vm.mac;
    api->put("/network-interfaces/eth0", nic.dump());
  });
  step("InstanceStart", [&] {
    api->put("/actions", json{{"action_type", "InstanceStart"}}.dump());
  });
  return VmHandle{proc, sock, log};
}

namespace {
// SendCtrlAltDel: a guest with an i8042 controller reboots, and Firecracker
// (which has no reboot) exits. False when not delivered: not booted yet, no
// i8042, a hung API.
bool send_ctrl_alt_del(const VmHandle& vm, std::chrono::milliseconds timeout) {
  try {
    FirecrackerApi api(vm.api_socket);
    // A wedged VMM must not hold the call longer than the caller's wait.
    api.set_timeout(std::max(timeout, std::chrono::milliseconds(1)));
    api.put("/actions", json{{"action_type", "SendCtrlAltDel"}}.dump());
    return true;
  } catch (const HostError&) {
    return false;
  }
}
}  // namespace

bool FirecrackerDriver::ask_stop(const VmHandle& vm) {
  if (vm.api_socket.empty() || !is_running(vm.process)) return false;
  return send_ctrl_alt_del(vm, std::chrono::seconds(1));
}

StopOutcome FirecrackerDriver::stop(const VmHandle& vm, std::chrono::milliseconds grace, bool asked) {
  using namespace std::chrono;
  const std::string who =
      "stopping firecracker (pid " + std::to_string(vm.process.pid) + ", log " + vm.log_path + ")";
  try {
    auto deadline = steady_clock::now() + grace;
    StopOutcome out = StopOutcome::Gone;
    if (is_running(vm.process)) {
      out = StopOutcome::Killed;
      if (grace > milliseconds(0) && !vm.api_socket.empty()) {
        if (!asked) asked = send_ctrl_alt_del(vm, grace);
        auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
        if (asked && left > milliseconds(0) && wait_for_exit(vm.process, left)) out = StopOutcome::Graceful;
      }
    }
    kill_process(vm.process);  // a no-op when gone; reaps a zombie child of ours
    if (!vm.api_socket.empty()) remove_socket(vm.api_socket);
    return out;
  } catch (const HostError& e) {
    throw HostError(who + ": " + e.what(), e.code());
  }
}

}  // namespace banger
