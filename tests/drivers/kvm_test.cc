// probe_kvm against this host's real /dev/kvm (absent, PVM or ordinary KVM,
// whichever this machine has) and against stand-ins the test makes: a
// missing node, /dev/null (opens, but no KVM ioctls), a sysfs module folder
// and a cpuinfo file.
#include "drivers/kvm.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "reconciler/runtime_choice.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

TEST(ProbeKvm, AMissingDeviceIsNotPresent) {
  TempDir d;
  KvmFacts f = probe_kvm({d.path() + "/kvm", d.path() + "/module", d.path() + "/cpuinfo"});
  EXPECT_FALSE(f.present);
  EXPECT_FALSE(f.opened);
  EXPECT_EQ(f.modules, "");
  EXPECT_FALSE(f.cpu_virt);
  EXPECT_EQ(judge_kvm(f).why, "/dev/kvm does not exist");
}

TEST(ProbeKvm, ADeviceThatIsNotKvmAnswersNoApiVersion) {
  TempDir d;
  KvmFacts f = probe_kvm({"/dev/null", d.path(), d.path() + "/cpuinfo"});
  EXPECT_TRUE(f.present);
  EXPECT_TRUE(f.opened);
  EXPECT_EQ(f.api_version, -1);
  EXPECT_FALSE(f.vm_created);
  EXPECT_FALSE(judge_kvm(f).usable);
}

TEST(ProbeKvm, ReadsModulesAndCpuFlags) {
  TempDir d;
  fs::create_directories(d.path() + "/module/kvm_pvm");
  fs::create_directories(d.path() + "/module/kvm_amd");
  fs::create_directories(d.path() + "/module/kvm");
  d.write("cpuinfo", "processor\t: 0\nflags\t\t: fpu vme svm lm\n\nprocessor\t: 1\nflags\t\t: fpu vme svm lm\n");
  KvmFacts f = probe_kvm({d.path() + "/none", d.path() + "/module", d.path() + "/cpuinfo"});
  EXPECT_EQ(f.modules, "kvm_amd kvm_pvm");
  EXPECT_TRUE(f.has_module("kvm_pvm"));
  EXPECT_FALSE(f.has_module("kvm"));
  EXPECT_TRUE(f.cpu_virt);
  d.write("cpuinfo", "flags\t\t: fpu vme hypervisor lm vmxx\n");
  EXPECT_FALSE(probe_kvm({d.path() + "/none", d.path() + "/module", d.path() + "/cpuinfo"}).cpu_virt);
}

TEST(ProbeKvm, ThisHostsKvmIsJudgedByWhatServesIt) {
  KvmFacts f = probe_kvm();
  struct stat st;
  EXPECT_EQ(f.present, ::stat("/dev/kvm", &st) == 0);
  EXPECT_EQ(f.has_module("kvm_pvm"), ::stat("/sys/module/kvm_pvm", &st) == 0);
  KvmVerdict v = judge_kvm(f);
  if (!f.present) {
    EXPECT_FALSE(v.usable);
  } else if (f.has_module("kvm_pvm")) {
    // A PVM host: the device works as KVM, yet no ordinary guest boots.
    EXPECT_TRUE(f.opened) << f.open_error;
    EXPECT_EQ(f.api_version, 12);
    EXPECT_FALSE(v.usable);
    EXPECT_NE(v.why.find("CONFIG_PVM_GUEST"), std::string::npos);
  }
  RecordProperty("kvm", v.why);
  std::cout << "this host: " << v.why << "\n";
}

}  // namespace
}  // namespace banger
