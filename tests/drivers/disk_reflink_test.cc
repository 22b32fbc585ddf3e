// DiskDriver on filesystems that really share extents: a btrfs and an xfs
// made on a sparse file, attached to an autoclear loop device and mounted in
// a forked child's private mount namespace (host-apis.md §3). The host never
// sees the mount; when the child ends, however it ends, the namespace takes
// the mount with it and autoclear detaches the loop. Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_report.h"
#include "common/unique_fd.h"
#include "drivers/disk.h"
#include "drivers/loop.h"
#include "fs_test_helpers.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::extents;
using test::fail;
using test::find_program;
using test::loops_backed_by;
constexpr uint64_t MiB = 1 << 20;

void write_pattern(const std::string& path, uint64_t size, char seed) {
  std::ofstream f(path, std::ios::binary);
  std::string chunk(MiB, '\0');
  for (uint64_t off = 0; off < size; off += MiB) {
    for (size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = static_cast<char>(seed + (off / MiB) * 7 + i % 251);
    f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
  if (!f) throw std::runtime_error("writing " + path);
}

// Runs in the forked child: everything that needs the mount. Reports
// "key=value" lines; the parent turns them into gtest assertions.
std::string reflink_scenario(const std::string& backing, const std::string& fstype,
                             const std::string& mnt) {
  std::ostringstream rep;
  if (::unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("making / private");
  std::string dev;
  {
    LoopDriver::Attached loop = LoopDriver().attach(backing, false, "banger-disk-test");
    dev = loop.dev.device;
    if (::mount(dev.c_str(), mnt.c_str(), fstype.c_str(), MS_NOSUID | MS_NODEV, nullptr) != 0)
      fail("mounting " + dev + " (" + fstype + ") on " + mnt);
  }  // the mount holds the loop now; closing our fd arms autoclear
  rep << "loop=" << dev << "\n";
  struct Unmount {
    std::string mnt;
    ~Unmount() { ::umount2(mnt.c_str(), 0); }
  } unmount{mnt};

  const std::string image = mnt + "/images/base.img";
  const std::string disk_a = mnt + "/vms/a/disk.img", disk_b = mnt + "/vms/b/disk.img";
  fs::create_directories(mnt + "/images");
  write_pattern(image, 32 * MiB, 'x');
  const std::string image_sha = sha256_file(image);

  DiskDriver d;
  DiskOutcome a = d.ensure({image, disk_a, 0, DiskStrategy::Reflink});
  rep << "reflink_method=" << to_string(a.method) << "\nreflink_result=" << to_string(a.result)
      << "\nreflink_size=" << a.size << "\n";
  auto [all, shared] = extents(disk_a);
  rep << "clone_extents=" << all << "\nclone_shared=" << shared << "\n";
  auto ff = test::run_command({find_program("filefrag"), "-v", disk_a});
  rep << "filefrag_shared=" << (ff.out.find("shared") != std::string::npos) << "\n";
  rep << "clone_same=" << (sha256_file(disk_a) == image_sha) << "\n";

  {
    UniqueFd fd(::open(disk_a.c_str(), O_WRONLY | O_CLOEXEC));
    std::string junk(MiB, 'Z');
    if (!fd || ::pwrite(fd.get(), junk.data(), junk.size(), 3 * MiB) != static_cast<ssize_t>(MiB) ||
        ::fsync(fd.get()) != 0)
      fail("writing to the clone");
  }
  rep << "image_intact=" << (sha256_file(image) == image_sha) << "\n";
  rep << "clone_changed=" << (sha256_file(disk_a) != image_sha) << "\n";

  DiskOutcome b = d.ensure({image, disk_b, 64 * MiB, DiskStrategy::Auto});
  rep << "auto_method=" << to_string(b.method) << "\nauto_size=" << b.size << "\n";
  rep << "auto_file_size=" << DiskDriver::file_size(disk_b) << "\n";
  rep << "auto_shared=" << extents(disk_b).second << "\n";
  d.remove(disk_a);
  d.remove(disk_b);

  unmount.mnt.clear();
  rep << "umount=" << (::umount2(mnt.c_str(), 0) == 0 ? "ok" : std::strerror(errno)) << "\n";
  return rep.str();
}

struct FsCase {
  const char* fstype;
  std::vector<std::string> mkfs;  // program, then its options
};

void PrintTo(const FsCase& c, std::ostream* os) { *os << c.fstype; }

class DiskReflink : public testing::TestWithParam<FsCase> {};

TEST_P(DiskReflink, ClonesShareExtentsAndStayIndependent) {
  const FsCase& c = GetParam();
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop device, mount)";
  if (::access("/dev/loop-control", F_OK) != 0) GTEST_SKIP() << "no /dev/loop-control";
  const std::string mkfs = find_program(c.mkfs[0]);
  if (mkfs.empty()) GTEST_SKIP() << c.mkfs[0] << " missing: apt-get install btrfs-progs xfsprogs";

  TempDir t;
  const std::string backing = t.path() + "/" + c.fstype + ".img", mnt = t.path() + "/mnt";
  fs::create_directories(mnt);
  {
    // 320 MiB: above xfs's 300 MB minimum, and sparse, so it costs nothing.
    std::ofstream f(backing, std::ios::binary);
    f.close();
    fs::resize_file(backing, 320 * MiB);
  }
  std::vector<std::string> argv{mkfs};
  argv.insert(argv.end(), c.mkfs.begin() + 1, c.mkfs.end());
  argv.push_back(backing);
  auto made = test::run_command(argv);
  ASSERT_EQ(made.exit_code, 0) << made.err;

  auto child = test::run_in_child([&] { return reflink_scenario(backing, c.fstype, mnt); }, 120);
  const int status = child.status;
  const std::string& text = child.text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  std::map<std::string, std::string> r;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (auto eq = l.find('='); eq != std::string::npos) r[l.substr(0, eq)] = l.substr(eq + 1);
  std::printf("[ %-8s ] %s", c.fstype, text.c_str());

  EXPECT_EQ(r["error"], "");
  EXPECT_EQ(r["reflink_method"], "reflink");
  EXPECT_EQ(r["reflink_result"], "created");
  EXPECT_EQ(r["reflink_size"], std::to_string(32 * MiB));
  EXPECT_NE(r["clone_extents"], "0");
  EXPECT_EQ(r["clone_shared"], r["clone_extents"]) << "every extent of a fresh clone is shared";
  EXPECT_EQ(r["filefrag_shared"], "1");
  EXPECT_EQ(r["clone_same"], "1");
  EXPECT_EQ(r["image_intact"], "1") << "writing the clone changed the image";
  EXPECT_EQ(r["clone_changed"], "1");
  EXPECT_EQ(r["auto_method"], "reflink");
  EXPECT_EQ(r["auto_size"], std::to_string(64 * MiB));
  EXPECT_EQ(r["auto_file_size"], std::to_string(64 * MiB));
  EXPECT_NE(r["auto_shared"], "0");
  EXPECT_EQ(r["umount"], "ok");

  // The loop detaches by itself once the mount is gone (asynchronously).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!loops_backed_by(backing).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(loops_backed_by(backing).empty()) << "loop device left attached";
  if (std::string losetup = find_program("losetup"); !losetup.empty()) {
    auto l = test::run_command({losetup, "-a"});
    EXPECT_EQ(l.out.find(backing), std::string::npos) << l.out;
  }
}

INSTANTIATE_TEST_SUITE_P(, DiskReflink,
                         testing::Values(FsCase{"btrfs", {"mkfs.btrfs", "-q", "-f"}},
                                         FsCase{"xfs",
                                                {"mkfs.xfs", "-q", "-f", "-m", "reflink=1"}}),
                         [](const auto& info) { return std::string(info.param.fstype); });

}  // namespace
}  // namespace banger
