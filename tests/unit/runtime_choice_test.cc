// The runtime and acceleration a VM gets, from host facts injected as values:
// no /dev/kvm, PVM, usable KVM, broken KVM; Firecracker present or not; and
// each --accel override.
#include <gtest/gtest.h>

#include "reconciler/runtime_choice.h"

namespace banger {
namespace {

KvmFacts no_kvm() { return KvmFacts{}; }

KvmFacts kvm_with(const std::string& modules, bool cpu_virt = true) {
  KvmFacts f;
  f.present = f.opened = f.vm_created = true;
  f.api_version = 12;
  f.modules = modules;
  f.cpu_virt = cpu_virt;
  return f;
}

KvmFacts pvm() { return kvm_with("kvm_pvm", /*cpu_virt=*/false); }

HypervisorHost host(KvmFacts kvm, bool firecracker = false, bool qemu = true) {
  HypervisorHost h;
  h.known = true;
  h.kvm = std::move(kvm);
  if (firecracker) h.firecracker = "/usr/local/bin/firecracker";
  else h.firecracker_why = "firecracker binary not found: install it";
  if (qemu) h.qemu = "/usr/bin/qemu-system-x86_64";
  else h.qemu_why = "qemu binary not found";
  return h;
}

HypervisorHost with_accel(HypervisorHost h, Accel a, const char* from = "--accel") {
  h.accel = a;
  h.accel_from = from;
  return h;
}

TEST(JudgeKvm, EachKnownCase) {
  EXPECT_FALSE(judge_kvm(no_kvm()).usable);
  EXPECT_EQ(judge_kvm(no_kvm()).why, "/dev/kvm does not exist");

  KvmFacts denied;
  denied.present = true;
  denied.open_error = "Permission denied";
  EXPECT_FALSE(judge_kvm(denied).usable);
  EXPECT_EQ(judge_kvm(denied).why, "/dev/kvm cannot be opened (Permission denied)");

  KvmFacts not_kvm;  // e.g. /dev/null bound over it: opens, but no KVM ioctls
  not_kvm.present = not_kvm.opened = true;
  EXPECT_FALSE(judge_kvm(not_kvm).usable);
  EXPECT_NE(judge_kvm(not_kvm).why.find("does not answer as KVM"), std::string::npos);

  EXPECT_FALSE(judge_kvm(pvm()).usable);
  EXPECT_EQ(judge_kvm(pvm()).why,
            "/dev/kvm is PVM (kvm_pvm): only guest kernels built with CONFIG_PVM_GUEST boot on it");
  // PVM wins even next to a vendor module and a CPU flag: it is the one that
  // serves /dev/kvm once loaded.
  EXPECT_FALSE(judge_kvm(kvm_with("kvm_intel kvm_pvm", true)).usable);

  KvmFacts broken = kvm_with("kvm_intel");
  broken.vm_created = false;
  broken.create_error = "Device or resource busy";
  EXPECT_FALSE(judge_kvm(broken).usable);
  EXPECT_NE(judge_kvm(broken).why.find("KVM_CREATE_VM: Device or resource busy"), std::string::npos);

  EXPECT_TRUE(judge_kvm(kvm_with("kvm_intel")).usable);
  EXPECT_EQ(judge_kvm(kvm_with("kvm_amd")).why, "/dev/kvm is usable (kvm_amd)");
  EXPECT_TRUE(judge_kvm(kvm_with("", /*cpu_virt=*/true)).usable);
  EXPECT_FALSE(judge_kvm(kvm_with("", /*cpu_virt=*/false)).usable);
}

TEST(ChooseRuntime, AutoWithoutKvmIsQemuTcg) {
  auto c = choose_runtime(Runtime::Auto, host(no_kvm(), /*firecracker=*/true));
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.label(), "qemu/tcg");
  EXPECT_EQ(c.binary, "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(c.reason, "auto: /dev/kvm does not exist");
}

TEST(ChooseRuntime, AutoOnPvmIsQemuTcgEvenWithFirecrackerInstalled) {
  auto c = choose_runtime(Runtime::Auto, host(pvm(), /*firecracker=*/true));
  EXPECT_EQ(c.label(), "qemu/tcg");
  EXPECT_NE(c.reason.find("PVM (kvm_pvm)"), std::string::npos) << c.reason;
  EXPECT_EQ(choose_runtime(Runtime::Qemu, host(pvm())).label(), "qemu/tcg");
}

TEST(ChooseRuntime, AutoWithUsableKvmIsFirecrackerWhenInstalledElseQemuKvm) {
  auto fc = choose_runtime(Runtime::Auto, host(kvm_with("kvm_intel"), /*firecracker=*/true));
  EXPECT_EQ(fc.label(), "firecracker");
  EXPECT_EQ(fc.binary, "/usr/local/bin/firecracker");
  EXPECT_EQ(fc.reason, "auto: /dev/kvm is usable (kvm_intel) and firecracker is installed");

  // The case of the issue, on a host with real KVM: no binary means QEMU, not a failed start.
  auto q = choose_runtime(Runtime::Auto, host(kvm_with("kvm_intel"), /*firecracker=*/false));
  EXPECT_EQ(q.error, "");
  EXPECT_EQ(q.label(), "qemu/kvm");
  EXPECT_NE(q.reason.find("no firecracker binary"), std::string::npos) << q.reason;
}

TEST(ChooseRuntime, ANamedFirecrackerIsTheUsersChoiceUnderAuto) {
  HypervisorHost h = host(pvm(), /*firecracker=*/true);
  h.firecracker_named_by = "BANGER_FIRECRACKER_BIN";
  auto c = choose_runtime(Runtime::Auto, h);
  EXPECT_EQ(c.label(), "firecracker");
  EXPECT_NE(c.reason.find("named by BANGER_FIRECRACKER_BIN, although /dev/kvm is PVM"), std::string::npos)
      << c.reason;
  // Named but missing: an error, not a silent QEMU.
  HypervisorHost gone = host(no_kvm(), /*firecracker=*/false);
  gone.firecracker_named_by = "--firecracker";
  gone.firecracker_why = "--firecracker /nope: no such file";
  EXPECT_EQ(choose_runtime(Runtime::Auto, gone).error, "--firecracker /nope: no such file");
  // --accel tcg takes Firecracker out of the picture.
  EXPECT_EQ(choose_runtime(Runtime::Auto, with_accel(h, Accel::Tcg)).label(), "qemu/tcg");
}

TEST(ChooseRuntime, ExplicitFirecrackerNeedsItsBinary) {
  auto c = choose_runtime(Runtime::Firecracker, host(kvm_with("kvm_intel"), /*firecracker=*/false));
  EXPECT_NE(c.error.find("firecracker binary not found"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("set runtime: qemu (or auto)"), std::string::npos) << c.error;
  // With the binary it runs; without usable KVM the reason says so (a
  // double, or a guest kernel built for PVM, is the user's business).
  auto ok = choose_runtime(Runtime::Firecracker, host(pvm(), /*firecracker=*/true));
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.label(), "firecracker");
  EXPECT_NE(ok.reason.find("although /dev/kvm is PVM"), std::string::npos) << ok.reason;
}

TEST(ChooseRuntime, AccelKvmWhereKvmCannotRunAGuestIsAnErrorWithTheFix) {
  for (const KvmFacts& f : {no_kvm(), pvm()}) {
    for (Runtime r : {Runtime::Auto, Runtime::Qemu, Runtime::Firecracker}) {
      auto c = choose_runtime(r, with_accel(host(f, true), Accel::Kvm, "BANGER_ACCEL"));
      EXPECT_NE(c.error.find("BANGER_ACCEL kvm, but /dev/kvm"), std::string::npos) << c.error;
      EXPECT_NE(c.error.find("use --accel tcg or auto"), std::string::npos) << c.error;
    }
  }
  auto ok = choose_runtime(Runtime::Qemu, with_accel(host(kvm_with("kvm_amd")), Accel::Kvm));
  EXPECT_EQ(ok.label(), "qemu/kvm");
  EXPECT_EQ(ok.reason, "--accel kvm");
}

TEST(ChooseRuntime, AccelTcgForcesSoftwareEmulation) {
  HypervisorHost h = with_accel(host(kvm_with("kvm_intel"), /*firecracker=*/true), Accel::Tcg);
  EXPECT_EQ(choose_runtime(Runtime::Auto, h).label(), "qemu/tcg");
  EXPECT_EQ(choose_runtime(Runtime::Auto, h).reason, "auto: --accel tcg");
  EXPECT_EQ(choose_runtime(Runtime::Qemu, h).label(), "qemu/tcg");
  auto fc = choose_runtime(Runtime::Firecracker, h);
  EXPECT_NE(fc.error.find("runtime: firecracker needs KVM, but --accel tcg turns it off"), std::string::npos)
      << fc.error;
}

TEST(ChooseRuntime, AccelAutoIsTheDefault) {
  HypervisorHost h = with_accel(host(kvm_with("kvm_intel")), Accel::Auto);
  EXPECT_EQ(choose_runtime(Runtime::Qemu, h).label(), "qemu/kvm");
}

TEST(ChooseRuntime, NoQemuWhereQemuIsNeededSaysWhatToInstall) {
  auto c = choose_runtime(Runtime::Auto, host(pvm(), /*firecracker=*/false, /*qemu=*/false));
  EXPECT_NE(c.error.find("qemu binary not found"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("apt-get install qemu-system-x86"), std::string::npos) << c.error;
}

TEST(Accel, ParsesTheThreeValues) {
  EXPECT_EQ(parse_accel("kvm"), Accel::Kvm);
  EXPECT_EQ(parse_accel("tcg"), Accel::Tcg);
  EXPECT_EQ(parse_accel("auto"), Accel::Auto);
  EXPECT_EQ(parse_accel("KVM"), std::nullopt);
  EXPECT_EQ(parse_accel("hvf"), std::nullopt);
}

}  // namespace
}  // namespace banger
