// A hypervisor starts and stops one VM's process: Firecracker (firecracker.h)
// or QEMU (qemu.h). Which one a VM gets, and QEMU's acceleration, is decided
// from host facts in reconciler/runtime_choice.h, not here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "drivers/process.h"

namespace banger {

struct VmLaunch {
  std::string name;         ///< VM name, also Firecracker's --id
  std::string run_dir;      ///< $BANGER_RUN_DIR/vms/NAME, 0700, created by the driver
  std::string kernel_path;
  std::string initrd_path;  ///< "" = none
  std::string boot_args;    ///< the whole command line, ip= included
  std::string rootfs_path;  ///< the VM's own writable disk
  std::string seed_path;    ///< "" = none; the NoCloud seed, a read-only second disk
  int vcpus = 1;
  uint64_t mem_mib = 512;
  std::string tap;          ///< host tap name, must exist
  std::string mac;          ///< guest MAC, "06:00:..."
};

struct VmHandle {
  ProcessIdentity process;
  std::string api_socket;  ///< "" when the runtime has none
  std::string log_path;    ///< serial console and hypervisor log
};

/// How a stop ended: the process was already gone, the guest shut down
/// within the grace period, or it was killed when the grace ran out.
enum class StopOutcome { Gone, Graceful, Killed };

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual const char* name() const = 0;
  /// Starts and boots the VM; on failure nothing is left running and the
  /// HostError names the step and the log file.
  virtual VmHandle start(const VmLaunch& vm) = 0;
  /// Asks the guest to shut down (Ctrl-Alt-Del, the ACPI power button) and
  /// returns at once: true when the ask was delivered. A delete asks every
  /// VM first and then waits, so that the guests' shutdowns overlap.
  virtual bool ask_stop(const VmHandle& vm) = 0;
  /// Graceful stop (e.g. SendCtrlAltDel), then SIGKILL after `grace`; removes
  /// the socket. Absent is success. With `asked` (ask_stop delivered it
  /// already), only waits up to `grace` before the kill.
  virtual StopOutcome stop(const VmHandle& vm, std::chrono::milliseconds grace, bool asked = false) = 0;
};

}  // namespace banger
