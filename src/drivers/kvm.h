// What this host's /dev/kvm is, read cheaply and without booting anything:
// whether the device exists and opens, answers KVM's API version, lets a VM
// be created, and which kernel module serves it. The verdict (can it run an
// ordinary guest?) is a pure function of these facts: reconciler/runtime_choice.h.
//
// Why more than access(): a /dev/kvm served by kvm_pvm (PVM, common in nested
// and cloud sandboxes) opens and creates VMs, yet runs only guest kernels
// built with CONFIG_PVM_GUEST; a distribution kernel hangs early in boot.
#pragma once

#include <string>

namespace banger {

struct KvmFacts {
  bool present = false;       ///< the device node exists
  bool opened = false;        ///< open(O_RDWR) worked
  std::string open_error;     ///< strerror of a failed open
  int api_version = -1;       ///< KVM_GET_API_VERSION (12 on every KVM), -1 when it failed
  bool vm_created = false;    ///< KVM_CREATE_VM worked (a broken nested setup fails here)
  std::string create_error;   ///< strerror of a failed KVM_CREATE_VM
  /// The KVM modules the kernel has (loaded or built in): any of kvm_intel,
  /// kvm_amd, kvm_pvm, space-separated in that order.
  std::string modules;
  bool cpu_virt = false;      ///< /proc/cpuinfo shows vmx or svm
  bool has_module(const std::string& m) const;
};

struct KvmPaths {
  std::string device = "/dev/kvm";
  std::string sys_module = "/sys/module";
  std::string cpuinfo = "/proc/cpuinfo";
};

/// Reads the facts (about 1 ms: one open, two ioctls, three stats, one
/// file). Never fails: what could not be read is recorded as such.
KvmFacts probe_kvm(const KvmPaths& paths = {});

}  // namespace banger
