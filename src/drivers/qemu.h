// QEMU as banger's second hypervisor, for hosts where Firecracker cannot run
// (and real boots in tests): `qemu-system-x86_64 -M microvm` with KVM or TCG
// as its owner decided (reconciler/runtime_choice.h: a /dev/kvm can exist and
// still be unable to boot an ordinary guest); the VM's disk and tap as virtio-mmio devices; the serial
// console in the VM's log; control over QMP on a unix socket in its run dir.
// Stop is QMP system_powerdown, then SIGKILL after the grace period.
#pragma once

#include <string>
#include <vector>

#include "drivers/hypervisor.h"

namespace banger {

/// env BANGER_QEMU_BIN, else qemu-system-x86_64 on PATH; throws HostError.
std::string find_qemu();

class QemuDriver : public Hypervisor {
 public:
  /// kvm: -accel kvm, else tcg.
  QemuDriver(std::string binary, bool kvm) : binary_(std::move(binary)), kvm_(kvm) {}
  const char* name() const override { return "qemu"; }
  VmHandle start(const VmLaunch& vm) override;
  bool ask_stop(const VmHandle& vm) override;
  StopOutcome stop(const VmHandle& vm, std::chrono::milliseconds grace, bool asked = false) override;

  /// The command line for `vm` (pure; tested on its own).
  static std::vector<std::string> command_line(const std::string& binary, const VmLaunch& vm,
                                               const std::string& qmp_socket, bool kvm);

 private:
  std::string binary_;
  bool kvm_ = false;
};

}  // namespace banger
