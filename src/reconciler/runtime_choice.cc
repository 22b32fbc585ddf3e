#include "reconciler/runtime_choice.h"

namespace banger {

const char* to_string(Accel a) {
  switch (a) {
    case Accel::Auto: return "auto";
    case Accel::Kvm: return "kvm";
    case Accel::Tcg: return "tcg";
  }
  return "?";
}

std::optional<Accel> parse_accel(const std::string& s) {
  if (s == "auto" || s.empty()) return Accel::Auto;
  if (s == "kvm") return Accel::Kvm;
  if (s == "tcg") return Accel::Tcg;
  return std::nullopt;
}

KvmVerdict judge_kvm(const KvmFacts& f) {
  if (!f.present) return {false, "/dev/kvm does not exist"};
  if (!f.opened) return {false, "/dev/kvm cannot be opened (" + f.open_error + ")"};
  if (f.api_version != 12) return {false, "/dev/kvm does not answer as KVM (KVM_GET_API_VERSION failed)"};
  // PVM runs only guests built for it; it is recognised before anything
  // else because it also creates VMs without complaint.
  if (f.has_module("kvm_pvm")) {
    return {false, "/dev/kvm is PVM (kvm_pvm): only guest kernels built with CONFIG_PVM_GUEST boot on it"};
  }
  if (!f.vm_created) {
    return {false, "/dev/kvm cannot create a VM (KVM_CREATE_VM: " + f.create_error +
                       "): hardware virtualisation is off or nested virtualisation is broken"};
  }
  for (const char* m : {"kvm_intel", "kvm_amd"}) {
    if (f.has_module(m)) return {true, std::string("/dev/kvm is usable (") + m + ")"};
  }
  // No vendor module visible: trust the CPU's own word, which a sandbox that
  // emulates KVM in software does not give.
  if (f.cpu_virt) return {true, "/dev/kvm is usable"};
  return {false, "/dev/kvm is served by neither kvm_intel nor kvm_amd and the CPU shows no vmx/svm"};
}

std::string RuntimeChoice::accel() const {
  if (runtime == Runtime::Firecracker) return "";
  return kvm ? "kvm" : "tcg";
}

std::string RuntimeChoice::label() const {
  return runtime == Runtime::Firecracker ? "firecracker" : "qemu/" + accel();
}

namespace {

RuntimeChoice failed(std::string error) {
  RuntimeChoice c;
  c.error = std::move(error);
  return c;
}

RuntimeChoice qemu(const HypervisorHost& h, bool kvm, std::string reason) {
  if (h.qemu.empty()) {
    return failed(h.qemu_why + "; QEMU is what runs VMs here (" + reason + "): apt-get install qemu-system-x86");
  }
  return {Runtime::Qemu, kvm, h.qemu, std::move(reason), ""};
}

}  // namespace

RuntimeChoice choose_runtime(Runtime requested, const HypervisorHost& h) {
  const KvmVerdict v = judge_kvm(h.kvm);
  const std::string accel_setting = h.accel_from + " " + to_string(h.accel);
  if (h.accel == Accel::Kvm && !v.usable) {
    return failed(accel_setting + ", but " + v.why + ": use --accel tcg or auto (BANGER_ACCEL)");
  }
  // QEMU's acceleration: what --accel says, else KVM where it can run an
  // ordinary guest.
  const bool kvm = h.accel == Accel::Kvm || (h.accel == Accel::Auto && v.usable);
  const std::string qemu_why = h.accel != Accel::Auto ? accel_setting : v.why;

  switch (requested) {
    case Runtime::Firecracker:
      if (h.accel == Accel::Tcg) {
        return failed("runtime: firecracker needs KVM, but " + accel_setting +
                      " turns it off: set runtime: qemu (or auto), or use --accel auto");
      }
      if (h.firecracker.empty()) {
        return failed(h.firecracker_why + "; install Firecracker, or set runtime: qemu (or auto)");
      }
      return {Runtime::Firecracker, true, h.firecracker,
              v.usable ? "runtime: firecracker" : "runtime: firecracker, although " + v.why, ""};
    case Runtime::Qemu:
      return qemu(h, kvm, qemu_why);
    case Runtime::Auto:
      break;
  }
  if (!h.firecracker_named_by.empty()) {
    // A binary the user named is the user's choice; one that is not there
    // is an error, not a reason to boot something else.
    if (h.accel == Accel::Tcg) return qemu(h, false, "auto: " + accel_setting);
    if (h.firecracker.empty()) return failed(h.firecracker_why);
    return {Runtime::Firecracker, true, h.firecracker,
            "auto: firecracker named by " + h.firecracker_named_by + (v.usable ? "" : ", although " + v.why), ""};
  }
  if (v.usable && h.accel != Accel::Tcg && !h.firecracker.empty()) {
    return {Runtime::Firecracker, true, h.firecracker, "auto: " + v.why + " and firecracker is installed", ""};
  }
  if (h.accel == Accel::Tcg) return qemu(h, false, "auto: " + accel_setting);
  if (!v.usable) return qemu(h, false, "auto: " + v.why);
  return qemu(h, kvm, "auto: " + v.why + " but no firecracker binary was found");
}

}  // namespace banger
