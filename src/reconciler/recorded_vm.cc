#include "reconciler/recorded_vm.h"

#include "drivers/firecracker.h"
#include "drivers/qemu.h"

namespace banger {

ProcessIdentity recorded_process(const VmRuntime& rt) {
  return ProcessIdentity{static_cast<pid_t>(rt.pid), rt.start_time, rt.exe};
}

VmHandle recorded_handle(const VmRuntime& rt) { return VmHandle{recorded_process(rt), rt.api_socket, rt.log_path}; }

std::unique_ptr<Hypervisor> recorded_hypervisor(const VmRuntime& rt) {
  if (rt.hypervisor == "qemu") return std::make_unique<QemuDriver>("", false);
  return std::make_unique<FirecrackerDriver>("");
}

}  // namespace banger
