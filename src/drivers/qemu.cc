#include "drivers/qemu.h"

#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/vm_files.h"

namespace banger {

namespace {

namespace fs = std::filesystem;

constexpr auto kQmpReadyTimeout = std::chrono::seconds(10);
constexpr const char* kHowToFind =
    "set BANGER_QEMU_BIN=PATH or install qemu-system-x86 (qemu-system-x86_64 on PATH)";

UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof addr.sun_path) return {};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

// Reads until `want` appears in what QMP sent (or the deadline passes).
bool read_until(int fd, const std::string& want, std::chrono::milliseconds timeout) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (got.find(want) == std::string::npos) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, left) <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool send_all(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// QMP: greeting, qmp_capabilities, then one command. True when it was accepted.
bool qmp_command(const std::string& socket, const std::string& command) {
  UniqueFd fd = connect_unix(socket);
  if (!fd) return false;
  auto t = std::chrono::seconds(2);
  return read_until(fd.get(), "\"QMP\"", t) &&
         send_all(fd.get(), "{\"execute\":\"qmp_capabilities\"}\n") &&
         read_until(fd.get(), "\"return\"", t) &&
         send_all(fd.get(), "{\"execute\":\"" + command + "\"}\n") &&
         read_until(fd.get(), "\"return\"", t);
}

// The host's TSC frequency in kHz from /proc/cpuinfo ("cpu MHz"), 0 if unknown.
long host_tsc_khz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return static_cast<long>(std::stod(line.substr(colon + 1)) * 1000);
    }
  }
  return 0;
}

}  // namespace

std::string find_qemu() {
  if (const char* env = std::getenv("BANGER_QEMU_BIN"); env && *env) {
    return resolve_executable(env, "BANGER_QEMU_BIN", "qemu", kHowToFind);
  }
  if (auto found = search_path("qemu-system-x86_64")) return *found;
  throw HostError(std::string("qemu binary not found: ") + kHowToFind, ErrorCode::NotFound);
}

std::vector<std::string> QemuDriver::command_line(const std::string& binary, const VmLaunch& vm,
                                                  const std::string& qmp_socket, bool kvm) {
  std::vector<std::string> argv = {
      binary,
      "-name", vm.name,
      // microvm: virtio-mmio only, no PCI or firmware tables to emulate, the
      // closest QEMU has to Firecracker's machine model. ACPI on, so that a
      // QMP system_powerdown reaches the guest as a power-button press.
      "-M", "microvm,acpi=on",
      "-accel", kvm ? "kvm" : "tcg",
      "-m", std::to_string(vm.mem_mib),
      "-smp", std::to_string(vm.vcpus),
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      // The serial console is QEMU's stdout, which spawn sends to the VM's log.
      "-serial", "stdio",
      "-kernel", vm.kernel_path,
  };
  if (!vm.initrd_path.empty()) argv.insert(argv.end(), {"-initrd", vm.initrd_path});
  argv.insert(argv.end(), {"-append", vm.boot_args});
  argv.insert(argv.end(), {"-drive", "id=root,file=" + vm.rootfs_path + ",format=raw,if=none,cache=writeback",
                           "-device", "virtio-blk-device,drive=root"});
  if (!vm.seed_path.empty()) {
    argv.insert(argv.end(), {"-drive", "id=seed,file=" + vm.seed_path + ",format=raw,if=none,readonly=on",
                             "-device", "virtio-blk-device,drive=seed"});
  }
  argv.insert(argv.end(), {"-netdev", "tap,id=n0,ifname=" + vm.tap + ",script=no,downscript=no",
                           "-device", "virtio-net-device,netdev=n0" + (vm.mac.empty() ? "" : ",mac=" + vm.mac)});
  argv.insert(argv.end(), {"-qmp", "unix:" + qmp_socket + ",server=on,wait=off"});
  return argv;
}

VmHandle QemuDriver::start(const VmLaunch& vm) {
  const std::string who = "VM/" + vm.name;
  const std::string dir = fs::absolute(vm.run_dir).lexically_normal().string();
  const std::string qmp = dir + "/qmp.sock";
  const std::string log = dir + "/console.log";
  // QEMU opens the tap by name, and as root that creates a missing one: the
  // VM would run with its NIC wired to nothing.
  if (vm.tap.empty() || ::if_nametoindex(vm.tap.c_str()) == 0) {
    throw HostError(who + ": tap \"" + vm.tap + "\" does not exist (QEMU would create an unconnected one)",
                    ErrorCode::NotFound);
  }
  try {
    make_run_dir(dir);
    remove_socket(qmp);
  } catch (const HostError& e) {
    throw HostError(who + ": preparing run dir failed: " + e.what(), e.code());
  }
  if (qmp.size() > 107) throw HostError(who + ": QMP socket path " + qmp + " is longer than 107 bytes");
  std::error_code ec;
  std::uintmax_t log_start = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
  const bool kvm = kvm_;
  VmLaunch launch = vm;
  // Under TCG a microvm guest has no timer to calibrate its TSC against and
  // hangs at boot about one time in three ("tsc: Unable to calibrate against
  // PIT"); telling it the frequency skips the calibration.
  if (long khz = kvm ? 0 : host_tsc_khz(); khz > 0) launch.boot_args += " tsc_early_khz=" + std::to_string(khz);
  ProcessIdentity proc;
  try {
    proc = spawn_detached({command_line(binary_, launch, qmp, kvm), log, dir, exit_status_file(dir)});
  } catch (const HostError& e) {
    throw HostError(who + ": starting qemu failed: " + e.what() + " (log: " + log + ")" + log_tail(log, log_start),
                    e.code());
  }
  // QEMU listens on QMP before it loads the kernel and builds the machine
  // (a missing kernel is found only then, and QEMU exits), but greets only
  // from its main loop: a command answered means the VM is booting
  // (readiness of the guest itself is a probe's job).
  auto deadline = std::chrono::steady_clock::now() + kQmpReadyTimeout;
  auto wait = std::chrono::milliseconds(5);
  while (true) {
    if (qmp_command(qmp, "query-status")) break;
    bool exited = !is_running(proc);
    if (exited || std::chrono::steady_clock::now() > deadline) {
      std::string tail = log_tail(log, log_start);
      kill_process(proc);
      remove_socket(qmp);
      throw HostError(who + (exited ? ": qemu exited before answering on its QMP socket "
                                    : ": qemu did not answer on its QMP socket ") +
                      qmp + " (log: " + log + ")" + tail);
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds(100));
  }
  return VmHandle{proc, qmp, log};
}

bool QemuDriver::ask_stop(const VmHandle& vm) {
  return !vm.api_socket.empty() && is_running(vm.process) && qmp_command(vm.api_socket, "system_powerdown");
}

StopOutcome QemuDriver::stop(const VmHandle& vm, std::chrono::milliseconds grace, bool asked) {
  StopOutcome out = StopOutcome::Gone;
  if (is_running(vm.process)) {
    // A guest that honours the power button powers off and QEMU exits
    // (-no-reboot); one that does not is killed after the grace period. The
    // button is pressed again every second: a press is lost on a guest that
    // is not listening yet (still booting, its handler not yet started).
    using namespace std::chrono;
    auto deadline = steady_clock::now() + grace;
    bool gone = false;
    while (!gone && grace.count() > 0 && !vm.api_socket.empty()) {
      auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left <= milliseconds(0)) break;
      if (!asked && !qmp_command(vm.api_socket, "system_powerdown")) break;
      asked = false;  // pressed (by ask_stop or here); the next round presses again
      left = duration_cast<milliseconds>(deadline - steady_clock::now());
      gone = wait_for_exit(vm.process, std::clamp(left, milliseconds(0), milliseconds(1000)));
    }
    out = gone ? StopOutcome::Graceful : StopOutcome::Killed;
    if (!gone) kill_process(vm.process);
  }
  if (!vm.api_socket.empty()) remove_socket(vm.api_socket);
  return out;
}

}  // namespace banger
