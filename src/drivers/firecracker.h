// Firecracker as banger's hypervisor: spawn `firecracker --api-sock`, detached
// in its own session; configure over the API (machine-config, boot-source,
// drives, network-interfaces) and InstanceStart; stop by SendCtrlAltDel, then
// SIGKILL after a grace period.
#pragma once

#include <string>

#include "drivers/hypervisor.h"

namespace banger {

/// The firecracker binary: `flag` (--firecracker), else env
/// BANGER_FIRECRACKER_BIN, else `firecracker` on PATH. Throws HostError naming
/// all three when none is found.
std::string find_firecracker(const std::string& flag);

class FirecrackerDriver : public Hypervisor {
 public:
  explicit FirecrackerDriver(std::string binary) : binary_(std::move(binary)) {}
  const char* name() const override { return "firecracker"; }
  VmHandle start(const VmLaunch& vm) override;
  bool ask_stop(const VmHandle& vm) override;
  StopOutcome stop(const VmHandle& vm, std::chrono::milliseconds grace, bool asked = false) override;

 private:
  std::string binary_;
};

}  // namespace banger
