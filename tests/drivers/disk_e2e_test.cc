// VM disks end to end with the real banger binary and the strict fake
// Firecracker: the recorded strategy in `get -o wide`, an Image change that
// apply refuses without --replace (and does with it), diskSize growth and a
// refused shrink, and leftovers of a crash that apply and gc remove.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/disk.h"
#include "host_e2e.h"

using banger::test::CommandResult;
using banger::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_at(const std::string& path, off_t off, size_t n) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(off);
  std::string out(n, '\0');
  f.read(out.data(), static_cast<std::streamsize>(n));
  return out.substr(0, static_cast<size_t>(f.gcount()));
}

void write_at(const std::string& path, off_t off, const std::string& data) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(off);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class DiskE2E : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    dir_->write("a.ext4", std::string(4 << 20, 'A'));
    dir_->write("b.ext4", std::string(4 << 20, 'B'));
  }

  void write(const std::string& image, const std::string& vm_extra = "") {
    std::ostringstream m;
    m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: dsk}\nspec: {subnet: 10.81.0.0/24}\n"
      << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir_->path()
      << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: "
      << dir_->path() << "/" << image << "}\n"
      << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: web}\n"
      << "spec: {kernel: k, image: img, network: dsk, memory: 128Mi, runtime: firecracker" << vm_extra << "}\n";
    dir_->write("m/vms.yaml", m.str());
  }

  std::string disk() const { return dir_->path() + "/state/vms/web/disk.img"; }
  std::string m() const { return manifest_dir(); }
};

TEST_F(DiskE2E, AutoRecordsItsChoiceAndGetShowsIt) {
  write("a.ext4");
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  // auto on this state dir's filesystem: reflink where it can, else (no
  // device-mapper on this kernel) a sparse copy.
  const std::string expected = banger::DiskDriver::reflink_supported(dir_->path() + "/state") ? "reflink" : "copy";
  EXPECT_NE(a.out.find("disk created by " + expected), std::string::npos) << a.out;
  auto st = banger::test::vm_status_in(dir_->path(), "web");
  EXPECT_EQ(st["DISK-STRATEGY"], expected + " (auto)");
  EXPECT_EQ(st["DISK-SIZE"], "4Mi");
  EXPECT_EQ(st["DISK"], disk());
  auto wide = banger({"get", "vms", "-o", "wide"});
  EXPECT_NE(wide.out.find("DISK-STRATEGY"), std::string::npos) << wide.out;
  // Naming the method it already has changes nothing on the disk.
  write("a.ext4", ", diskStrategy: " + expected);
  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2) << d.out;
  EXPECT_NE(d.out.find("~ VM/web"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("data loss"), std::string::npos) << d.out;
}

TEST_F(DiskE2E, ImageChangeIsRefusedWithoutReplaceAndDoneWithIt) {
  write("a.ext4");
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  write_at(disk(), 0, "guest data");  // what the guest wrote
  write("b.ext4");

  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("-/+ VM/web (disk will be recreated: data loss)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("apply refuses this unless run with --replace VM/web"), std::string::npos) << d.out;

  auto a = banger({"apply", "-f", m()});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE(a.err.find("VM/web: imageSource " + dir_->path() + "/a.ext4 -> " + dir_->path() +
                       "/b.ext4 would recreate its disk from the image, and the data on it would be lost; "
                       "nothing was changed. To accept that, run apply again with --replace VM/web"),
            std::string::npos)
      << a.err;
  EXPECT_EQ(read_at(disk(), 0, 10), "guest data") << "a refused apply changed the disk";

  auto bad = banger({"apply", "-f", m(), "--replace", "VM/nope"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--replace VM/nope: VM/nope is not in the manifests"), std::string::npos) << bad.err;
  bad = banger({"apply", "-f", m(), "--replace", "Network/dsk"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("expected VM/NAME"), std::string::npos) << bad.err;

  auto r = banger({"apply", "-f", m(), "--replace", "VM/web"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("old disk removed"), std::string::npos) << r.out;
  EXPECT_EQ(read_at(disk(), 0, 4), "BBBB") << "the new disk is made from the new image";
  EXPECT_EQ(banger({"diff", "-f", m()}).exit_code, 0);

  // --replace of an unchanged VM makes its disk anew too (terraform -replace).
  write_at(disk(), 0, "more data");
  auto again = banger({"apply", "-f", m(), "--replace", "vm/web"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("replacement requested with --replace"), std::string::npos) << again.out;
  EXPECT_EQ(read_at(disk(), 0, 4), "BBBB");
}

TEST_F(DiskE2E, DiskSizeGrowsWithARestartAndNeverShrinks) {
  write("a.ext4", ", diskSize: 8Mi");
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  write_at(disk(), 0, "keep me");
  write("a.ext4", ", diskSize: 16Mi");
  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("~ VM/web (restart)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("diskSize: 8Mi -> 16Mi  # restart"), std::string::npos) << d.out;
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(banger::DiskDriver::file_size(disk()), 16u << 20);
  EXPECT_EQ(read_at(disk(), 0, 7), "keep me");
  EXPECT_EQ(banger::test::vm_status_in(dir_->path(), "web")["DISK-SIZE"], "16Mi");

  write("a.ext4", ", diskSize: 8Mi");
  d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 1) << d.out;
  EXPECT_NE(d.err.find("VM/web: diskSize 8Mi is smaller than its disk (16Mi), and a disk is never shrunk"),
            std::string::npos)
      << d.err;
  a = banger({"apply", "-f", m()});
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.err.find("never shrunk: set diskSize to 16Mi or more; to make a new disk (its data is lost), run "
                       "apply with --replace VM/web"),
            std::string::npos)
      << a.err;
  EXPECT_EQ(banger::DiskDriver::file_size(disk()), 16u << 20);
  // Below the image's size is caught when the manifests load.
  write("a.ext4", ", diskSize: 2Mi");
  auto v = banger({"validate", "-f", m()});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("VM/web: spec.diskSize: 2Mi is smaller than Image/img (4Mi, " + dir_->path() + "/a.ext4)"),
            std::string::npos)
      << v.err;
}

TEST_F(DiskE2E, LeftoversOfACrashAreRemovedByApplyAndGc) {
  write("a.ext4");
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  // A VM folder no record explains, as a crash between its removal steps leaves.
  dir_->write("state/vms/ghost/disk.img", "x");
  auto g = banger({"gc", "--dry-run"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("would remove vms/ghost (VM folder"), std::string::npos) << g.out;
  EXPECT_TRUE(fs::exists(dir_->path() + "/state/vms/ghost"));

  auto d = banger({"diff", "-f", m()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("- leftover disks (no record explains them)\n      folder " + dir_->path() +
                       "/state/vms/ghost (no VM record)"),
            std::string::npos)
      << d.out;
  auto a = banger({"apply", "-f", m()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("leftover disks: removed 1 folder(s)"), std::string::npos) << a.out;
  EXPECT_FALSE(fs::exists(dir_->path() + "/state/vms/ghost"));
  EXPECT_TRUE(fs::exists(disk()));
  EXPECT_EQ(banger({"diff", "-f", m()}).exit_code, 0);

  dir_->write("state/vms/ghost2/cow.img", "y");
  auto gc = banger({"gc"});
  EXPECT_EQ(gc.exit_code, 0);
  EXPECT_NE(gc.out.find("removed vms/ghost2 (VM folder"), std::string::npos) << gc.out;
  EXPECT_FALSE(fs::exists(dir_->path() + "/state/vms/ghost2"));
  EXPECT_TRUE(fs::exists(disk()));
}

TEST_F(DiskE2E, DeleteRemovesTheDiskAndItsRecord) {
  write("a.ext4");
  ASSERT_EQ(banger({"apply", "-f", m()}).exit_code, 0);
  ASSERT_TRUE(fs::exists(disk()));
  auto del = banger({"delete", "-f", m()});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_FALSE(fs::exists(dir_->path() + "/state/vms/web"));
  auto ex = banger({"state", "export"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(nlohmann::json::parse(ex.out)["records"]["disks"].size(), 0u) << ex.out;
}

}  // namespace
