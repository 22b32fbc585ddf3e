// Which hypervisor a VM runs under, and with which acceleration, decided
// from host facts (drivers/kvm.h, the binaries found) and the host-wide
// --accel setting. Pure: diff uses it to refuse a plan whose VMs cannot run
// here before anything changes, and the executor uses the same answer to
// start them, so what the plan says is what runs.
#pragma once

#include <optional>
#include <string>

#include "drivers/kvm.h"
#include "resources/model.h"

namespace banger {

/// The host-wide acceleration setting (--accel, BANGER_ACCEL).
enum class Accel { Auto, Kvm, Tcg };
const char* to_string(Accel a);
std::optional<Accel> parse_accel(const std::string& s);

/// Can this /dev/kvm run an ordinary (distribution) guest kernel?
struct KvmVerdict {
  bool usable = false;
  std::string why;  ///< one phrase: "/dev/kvm is usable (kvm_intel)", "/dev/kvm does not exist", ...
};
KvmVerdict judge_kvm(const KvmFacts& f);

/// What observe learns about the hypervisors on this host.
struct HypervisorHost {
  bool known = false;  ///< false: not observed (an offline diff); no runtime is judged
  KvmFacts kvm;
  Accel accel = Accel::Auto;
  std::string accel_from = "--accel";  ///< which setting chose accel: "--accel" or "BANGER_ACCEL"
  std::string firecracker;             ///< the binary, "" when none was found
  std::string firecracker_why;         ///< why none was found
  /// The user named a Firecracker binary (--firecracker, BANGER_FIRECRACKER_BIN):
  /// `auto` takes it as the choice even where KVM cannot run an ordinary
  /// guest (a test double, a PVM-enabled guest kernel), as before.
  std::string firecracker_named_by;    ///< "--firecracker", "BANGER_FIRECRACKER_BIN" or ""
  std::string qemu;                    ///< the binary, "" when none was found
  std::string qemu_why;
};

struct RuntimeChoice {
  Runtime runtime = Runtime::Qemu;  ///< Firecracker or Qemu, never Auto
  bool kvm = false;                 ///< QEMU: -accel kvm (else tcg)
  std::string binary;
  std::string reason;  ///< why this one, for the plan, get and doctor
  std::string error;   ///< not empty: nothing can run this VM here; says what to do
  /// QEMU's "kvm" or "tcg"; "" for Firecracker (what VmRuntime::accel keeps).
  std::string accel() const;
  /// "firecracker", "qemu/kvm" or "qemu/tcg" (get -o wide's RUNTIME).
  std::string label() const;
};

RuntimeChoice choose_runtime(Runtime requested, const HypervisorHost& host);

}  // namespace banger
