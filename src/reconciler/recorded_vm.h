// A VM's process as its runtime record names it. Observe, stop, the ask
// before a stop, readiness, the watcher's pidfds and `banger logs` all start
// from a VmRuntime; the pid alone is never trusted (drivers/process.h).
#pragma once

#include <memory>

#include "drivers/hypervisor.h"
#include "drivers/process.h"
#include "state/records/vm_runtime.h"

namespace banger {

ProcessIdentity recorded_process(const VmRuntime& rt);
VmHandle recorded_handle(const VmRuntime& rt);
/// The driver that asks and stops the recorded process (a stop needs no
/// binary path, so none is looked up).
std::unique_ptr<Hypervisor> recorded_hypervisor(const VmRuntime& rt);

}  // namespace banger
