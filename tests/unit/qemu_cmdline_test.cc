#include <gtest/gtest.h>

#include <algorithm>

#include "drivers/qemu.h"

namespace banger {
namespace {

VmLaunch launch() {
  VmLaunch vm;
  vm.name = "web";
  vm.run_dir = "/run/banger/vms/web";
  vm.kernel_path = "/k/vmlinuz";
  vm.initrd_path = "/k/initrd.img";
  vm.boot_args = "console=ttyS0 reboot=k panic=1 ip=10.42.0.11::10.42.0.1:255.255.255.0:web:eth0:off";
  vm.rootfs_path = "/var/lib/banger/vms/web/disk.img";
  vm.vcpus = 2;
  vm.mem_mib = 256;
  vm.tap = "bg-666fc22e095c";
  vm.mac = "06:00:0A:2A:00:0B";
  return vm;
}

// The value that follows `flag` (the first occurrence).
std::string after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

TEST(QemuCommandLine, MicrovmWithTheVmsDiskTapMacAndQmp) {
  auto argv = QemuDriver::command_line("/usr/bin/qemu-system-x86_64", launch(), "/run/banger/vms/web/qmp.sock", false);
  EXPECT_EQ(argv[0], "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(after(argv, "-M"), "microvm,acpi=on");
  EXPECT_EQ(after(argv, "-accel"), "tcg");
  EXPECT_EQ(after(argv, "-m"), "256");
  EXPECT_EQ(after(argv, "-smp"), "2");
  EXPECT_EQ(after(argv, "-kernel"), "/k/vmlinuz");
  EXPECT_EQ(after(argv, "-initrd"), "/k/initrd.img");
  EXPECT_EQ(after(argv, "-append"), launch().boot_args);
  EXPECT_EQ(after(argv, "-drive"), "id=root,file=/var/lib/banger/vms/web/disk.img,format=raw,if=none,cache=writeback");
  EXPECT_EQ(after(argv, "-netdev"), "tap,id=n0,ifname=bg-666fc22e095c,script=no,downscript=no");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "virtio-net-device,netdev=n0,mac=06:00:0A:2A:00:0B"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "virtio-blk-device,drive=root"), argv.end());
  EXPECT_EQ(after(argv, "-qmp"), "unix:/run/banger/vms/web/qmp.sock,server=on,wait=off");
  EXPECT_EQ(after(argv, "-serial"), "stdio");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-no-reboot"), argv.end());
}

TEST(QemuCommandLine, KvmWhenAvailableAndNoInitrdWhenNone) {
  VmLaunch vm = launch();
  vm.initrd_path.clear();
  auto argv = QemuDriver::command_line("qemu", vm, "/q.sock", true);
  EXPECT_EQ(after(argv, "-accel"), "kvm");
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-initrd"), argv.end());
}

}  // namespace
}  // namespace banger
