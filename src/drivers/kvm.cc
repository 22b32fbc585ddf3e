#include "drivers/kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace banger {

bool KvmFacts::has_module(const std::string& m) const {
  std::istringstream in(modules);
  for (std::string w; in >> w;) {
    if (w == m) return true;
  }
  return false;
}

namespace {

bool cpu_has_virt(const std::string& cpuinfo) {
  std::ifstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w == "vmx" || w == "svm") return true;
    }
    return false;  // every CPU lists the same flags: the first line says it
  }
  return false;
}

}  // namespace

KvmFacts probe_kvm(const KvmPaths& paths) {
  KvmFacts f;
  struct stat st;
  for (const char* m : {"kvm_intel", "kvm_amd", "kvm_pvm"}) {
    if (::stat((paths.sys_module + "/" + m).c_str(), &st) == 0) f.modules += (f.modules.empty() ? "" : " ") + std::string(m);
  }
  f.cpu_virt = cpu_has_virt(paths.cpuinfo);
  f.present = ::stat(paths.device.c_str(), &st) == 0;
  if (!f.present) return f;
  UniqueFd fd(::open(paths.device.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    f.open_error = std::strerror(errno);
    return f;
  }
  f.opened = true;
  f.api_version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (f.api_version < 0) return f;
  // A VM is made and dropped at once: no memory, no vCPU, nothing runs.
  UniqueFd vm(::ioctl(fd.get(), KVM_CREATE_VM, 0));
  if (vm) {
    f.vm_created = true;
  } else {
    f.create_error = std::strerror(errno);
  }
  return f;
}

}  // namespace banger
