// Snapshot disks end to end, inside the throwaway guest (a kernel with
// device-mapper): the real banger binary and the strict fake Firecracker,
// state dir on the guest's tmpfs (no reflink there, so `auto` picks a
// snapshot). Create, write through the snapshot with the base untouched, a
// refused growth, remove, two VMs on one base loop device, a lost dm device
// rebuilt from its COW file, and a crash's leftovers swept.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "banger_host.h"
#include "drivers/devmapper.h"
#include "drivers/disk.h"
#include "drivers/loop.h"
#include "guest_env.h"
#include "leftovers.h"
#include "reconciler/disk_rules.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::TempDir;

constexpr uint64_t kImage = 16 << 20;

std::string pread_at(const std::string& path, off_t off, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out(n, '\0');
  ssize_t got = ::pread(fd, out.data(), n, off);
  ::close(fd);
  return got < 0 ? "" : out.substr(0, static_cast<size_t>(got));
}

void pwrite_at(const std::string& path, off_t off, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), off), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

std::vector<LoopDevice> loops_on(const std::string& file) {
  std::vector<LoopDevice> out;
  for (const LoopDevice& l : LoopDriver().list()) {
    if (l.backing_file == file) out.push_back(l);
  }
  return out;
}

class SnapshotE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_GUEST();
    if (!DeviceMapper::available()) GTEST_SKIP() << "no device-mapper in this kernel";
    dir_ = std::make_unique<TempDir>();
    dir_->write("vmlinux", std::string(4096, 'k'));
    dir_->write("root.ext4", std::string(kImage, 'I'));
    image_ = fs::canonical(dir_->path() + "/root.ext4").string();
    base_sha_ = sha256_file(image_);
    tag_ = disk_owner_tag(dir_->path() + "/state");
  }
  void TearDown() override {
    if (!dir_) return;
    banger({"delete", "-f", m(), "--ignore-not-found"});
    test::kill_processes_mentioning(dir_->path());
    // Whatever a failed test left: dm devices first, then loops on our files.
    DeviceMapper dm;
    for (const DmDevice& d : dm.list("banger-")) {
      if (d.uuid.find(tag_) != std::string::npos) dm.remove(d.name);
    }
    for (const LoopDevice& l : LoopDriver().list()) {
      if (l.backing_file.rfind(dir_->path(), 0) == 0 && l.holders.empty()) LoopDriver().detach(l.device);
    }
  }

  // VMs `names`, all on the one image.
  void write(const std::vector<std::string>& names, const std::string& vm_extra = "") {
    std::ostringstream s;
    s << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: snap}\nspec: {subnet: 10.83.0.0/24}\n"
      << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir_->path()
      << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: "
      << dir_->path() << "/root.ext4}\n";
    for (const auto& n : names) {
      s << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << n << "}\n"
        << "spec: {kernel: k, image: img, network: snap, memory: 128Mi, runtime: firecracker" << vm_extra << "}\n";
    }
    dir_->write("m/vms.yaml", s.str());
  }

  CommandResult banger(const std::vector<std::string>& args) { return test::run_banger_in(dir_->path(), args); }
  std::string m() const { return dir_->path() + "/m"; }
  std::string cow(const std::string& vm) const { return dir_->path() + "/state/vms/" + vm + "/cow.img"; }

  std::unique_ptr<TempDir> dir_;
  std::string image_, base_sha_, tag_;
};

TEST_F(SnapshotE2E, CreateWriteThroughRefuseGrowthRemove) {
  write({"web"});
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("disk created by snapshot"), std::string::npos) << a.out;
  auto st = test::vm_status_in(dir_->path(), "web");
  EXPECT_EQ(st["DISK-STRATEGY"], "snapshot (auto)");
  EXPECT_EQ(st["DISK"], "/dev/mapper/banger-web");
  EXPECT_EQ(st["DISK-SIZE"], "16Mi");

  auto dev = DeviceMapper().get("banger-web");
  ASSERT_TRUE(dev.has_value());
  EXPECT_EQ(dev->uuid, dm_uuid(tag_, "web"));
  ASSERT_EQ(dev->targets.size(), 1u);
  EXPECT_EQ(dev->targets[0].type, "snapshot");
  EXPECT_EQ(dev->targets[0].length, kImage / 512);
  auto base = loops_on(image_);
  ASSERT_EQ(base.size(), 1u);
  EXPECT_TRUE(base[0].read_only);
  EXPECT_EQ(base[0].label, base_loop_label(tag_));
  ASSERT_EQ(loops_on(cow("web")).size(), 1u);

  // The guest's writes land in its COW file; the image stays as it was.
  EXPECT_EQ(pread_at("/dev/mapper/banger-web", 0, 4), "IIII");
  pwrite_at("/dev/mapper/banger-web", 4096, "guest data");
  EXPECT_EQ(pread_at("/dev/mapper/banger-web", 4096, 10), "guest data");
  EXPECT_EQ(sha256_file(image_), base_sha_);
  EXPECT_EQ(banger({"diff", "-f", m()}).exit_code, 0);

  // A snapshot is as large as its image: growing it is refused, the disk kept.
  write({"web"}, ", diskSize: 32Mi");
  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 1) << d.out;
  EXPECT_NE(d.err.find("a device-mapper snapshot of 16Mi that cannot grow"), std::string::npos) << d.err;
  auto g = banger({"apply", "-f", m()});
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.err.find("--replace VM/web"), std::string::npos) << g.err;
  EXPECT_EQ(pread_at("/dev/mapper/banger-web", 4096, 10), "guest data");
  // ... and an explicit snapshot larger than the image never validates.
  write({"web"}, ", diskSize: 32Mi, diskStrategy: snapshot");
  EXPECT_EQ(banger({"validate", "-f", m()}).exit_code, 1);
  // --replace makes it anew: auto cannot make a 32Mi snapshot of a 16Mi
  // image, so it is a copy now (no reflink on tmpfs).
  write({"web"}, ", diskSize: 32Mi");
  auto r = banger({"apply", "-f", m(), "--replace", "VM/web"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("disk created by copy"), std::string::npos) << r.out;
  EXPECT_FALSE(DeviceMapper().get("banger-web").has_value());
  EXPECT_TRUE(loops_on(image_).empty()) << "the base loop goes with its last snapshot";
  EXPECT_TRUE(loops_on(cow("web")).empty());
  EXPECT_FALSE(fs::exists(cow("web")));

  write({"web"});
  auto del = banger({"delete", "-f", m()});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_FALSE(fs::exists(dir_->path() + "/state/vms/web"));
  EXPECT_EQ(sha256_file(image_), base_sha_);
}

// spec.guest writes through the snapshot (libext2fs on the dm device): the
// files land in the VM's COW, and the shared image keeps its sha256.
TEST_F(SnapshotE2E, GuestFilesGoIntoTheSnapshotNotTheImage) {
  ASSERT_EQ(test::run_command({"/sbin/mke2fs", "-q", "-F", "-t", "ext4", image_, "16M"}).exit_code, 0);
  base_sha_ = sha256_file(image_);
  write({"web"}, ", guest: {hostname: snapped}");
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("disk created by snapshot"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("guest files written"), std::string::npos) << a.out;
  EXPECT_EQ(test::run_command({"/sbin/debugfs", "-R", "cat /etc/hostname", "/dev/mapper/banger-web"}).out,
            "snapped\n");
  EXPECT_EQ(sha256_file(image_), base_sha_);
  EXPECT_EQ(test::run_command({"/sbin/debugfs", "-R", "cat /etc/hostname", image_}).out, "");
}

TEST_F(SnapshotE2E, TwoVmsShareOneBaseLoopUntilTheLastGoes) {
  write({"a", "b"}, ", diskStrategy: snapshot");
  auto ap = banger({"apply", "-f", m()});
  ASSERT_EQ(ap.exit_code, 0) << ap.out << ap.err;
  auto base = loops_on(image_);
  ASSERT_EQ(base.size(), 1u) << "one base loop device for both VMs";
  for (const char* vm : {"a", "b"}) {
    auto dev = DeviceMapper().get(std::string("banger-") + vm);
    ASSERT_TRUE(dev.has_value()) << vm;
    EXPECT_NE(std::find(dev->deps.begin(), dev->deps.end(), base[0].majmin()), dev->deps.end()) << vm;
  }
  pwrite_at("/dev/mapper/banger-a", 0, "only a");
  EXPECT_EQ(pread_at("/dev/mapper/banger-b", 0, 6), "IIIIII");

  auto del = banger({"delete", "vm", "a"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_FALSE(DeviceMapper().get("banger-a").has_value());
  ASSERT_EQ(loops_on(image_).size(), 1u) << "b still uses the base loop";
  EXPECT_EQ(pread_at("/dev/mapper/banger-b", 0, 6), "IIIIII");
  del = banger({"delete", "vm", "b"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(loops_on(image_).empty());
  EXPECT_EQ(sha256_file(image_), base_sha_);
}

TEST_F(SnapshotE2E, LostDeviceIsRebuiltFromItsCowWithTheData) {
  write({"web"}, ", state: stopped");  // nothing holds the device open
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  pwrite_at("/dev/mapper/banger-web", 8192, "survives");
  // As after a reboot: the dm device and its (AUTOCLEAR) loops are gone.
  DeviceMapper().remove("banger-web");
  EXPECT_TRUE(loops_on(image_).empty());
  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("! VM/web (repair)\n      disk /dev/mapper/banger-web is missing"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("data loss"), std::string::npos) << d.out;
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(pread_at("/dev/mapper/banger-web", 8192, 8), "survives");
  EXPECT_EQ(banger({"diff", "-f", m()}).exit_code, 0);
}

TEST_F(SnapshotE2E, CrashLeftoversAreSweptInOrder) {
  write({"web"});
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  pwrite_at("/dev/mapper/banger-web", 0, "keep");
  // What a crash between "made" and "recorded" would leave (nothing records
  // these): a dm device over a COW loop and a second base loop, a stray COW
  // loop, and the folder.
  const std::string ghost_cow = dir_->write("state/vms/ghost/cow.img", "");
  ASSERT_EQ(::truncate(ghost_cow.c_str(), kImage + (1 << 20)), 0);
  const std::string stray = dir_->write("state/vms/ghost/stray.img", "");
  ASSERT_EQ(::truncate(stray.c_str(), 1 << 20), 0);
  LoopDriver loops;
  auto ghost_base = loops.attach(image_, true, base_loop_label(tag_));
  auto ghost_loop = loops.attach(ghost_cow, false, cow_loop_label(tag_));
  auto stray_loop = loops.attach(stray, false, cow_loop_label(tag_));
  DeviceMapper().create_snapshot("banger-ghost", dm_uuid(tag_, "ghost"), ghost_base.dev.majmin(),
                                 ghost_loop.dev.majmin(), kImage / 512);
  ghost_base.fd.reset();
  ghost_loop.fd.reset();
  // The stray loop loses AUTOCLEAR, so it stays bound with no fd and no
  // holder (as one attached without LOOP_CONFIGURE would): banger must detach it.
  const std::string stray_dev = stray_loop.dev.device;
  loop_info64 info{};
  ASSERT_EQ(::ioctl(stray_loop.fd.get(), LOOP_GET_STATUS64, &info), 0);
  info.lo_flags &= ~static_cast<uint32_t>(LO_FLAGS_AUTOCLEAR);
  ASSERT_EQ(::ioctl(stray_loop.fd.get(), LOOP_SET_STATUS64, &info), 0);
  stray_loop.fd.reset();
  ASSERT_TRUE(LoopDriver().describe(stray_dev).has_value());

  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("device-mapper device banger-ghost (no VM record)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("loop device " + stray_dev + " on " + fs::canonical(stray).string()), std::string::npos)
      << d.out;
  EXPECT_NE(d.out.find("folder " + dir_->path() + "/state/vms/ghost (no VM record)"), std::string::npos) << d.out;

  std::cout << "[ leftovers ] banger diff:\n" << d.out;
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  std::cout << "[ leftovers ] banger apply:\n" << a.out;
  EXPECT_FALSE(DeviceMapper().get("banger-ghost").has_value());
  EXPECT_TRUE(loops_on(fs::canonical(dir_->path() + "/state").string() + "/vms/ghost/cow.img").empty());
  EXPECT_FALSE(LoopDriver().describe(stray_dev).has_value());
  EXPECT_FALSE(fs::exists(dir_->path() + "/state/vms/ghost"));
  EXPECT_EQ(loops_on(image_).size(), 1u) << "web's base loop stays";
  EXPECT_EQ(pread_at("/dev/mapper/banger-web", 0, 4), "keep");
  EXPECT_EQ(banger({"diff", "-f", m()}).exit_code, 0);
}

}  // namespace
}  // namespace banger
