// DiskDriver on this machine's ordinary filesystems (ext4 temp dir, tmpfs):
// the sparse copy, growing, never shrinking, the temp-then-rename rule, the
// errors, and sha256_file against sha256sum. No root needed.
#include "drivers/disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "common/host_error.h"
#include "run_command.h"

namespace banger {
namespace {

using test::TempDir;
constexpr uint64_t MiB = 1 << 20;

// A sparse image of `size` with 4 KiB of non-zero data at each offset.
void make_sparse_image(const std::string& path, uint64_t size, std::initializer_list<uint64_t> at) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  std::string block(4096, '\0');
  for (uint64_t off : at) {
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>('A' + (off + i) % 26);
    ASSERT_EQ(::pwrite(fd, block.data(), block.size(), static_cast<off_t>(off)), 4096);
  }
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

std::string error_of(DiskDriver& d, const DiskSpec& spec) {
  try {
    d.ensure(spec);
  } catch (const HostError& e) {
    return e.what();
  }
  return "(no HostError)";
}

// A temp dir on tmpfs (/dev/shm), or "" when there is none.
std::unique_ptr<TempDir> tmpfs_dir() {
  struct statfs sf {};
  if (::statfs("/dev/shm", &sf) != 0 || sf.f_type != 0x01021994 /* TMPFS_MAGIC */) return nullptr;
  const char* old = ::getenv("TMPDIR");
  std::string saved = old ? old : "";
  ::setenv("TMPDIR", "/dev/shm", 1);
  auto dir = std::make_unique<TempDir>();
  if (old)
    ::setenv("TMPDIR", saved.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  return dir->path().rfind("/dev/shm/", 0) == 0 ? std::move(dir) : nullptr;
}

TEST(DiskDriver, CopyKeepsHolesAndContent) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/vms/web-1/disk.img";
  make_sparse_image(image, 64 * MiB, {0, 10 * MiB, 33 * MiB + 8192, 64 * MiB - 4096});
  DiskDriver d;
  DiskOutcome out = d.ensure({image, disk, 0, DiskStrategy::Copy});
  EXPECT_EQ(out.result, OpResult::Created);
  EXPECT_EQ(out.method, DiskMethod::Copy);
  EXPECT_EQ(out.size, 64 * MiB);
  EXPECT_EQ(DiskDriver::file_size(disk), 64 * MiB);
  EXPECT_EQ(sha256_file(disk), sha256_file(image));
  EXPECT_LT(allocated_bytes(disk), 1 * MiB) << "holes were filled in";
  EXPECT_FALSE(exists(disk + ".tmp"));
  struct stat st {};
  // The state dir above is the gate (root, or the group banger); the disk
  // itself is root's alone.
  ASSERT_EQ(::stat((t.path() + "/vms/web-1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat(disk.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(DiskDriver, CopyAcrossFilesystemsKeepsHoles) {
  // tmpfs -> ext4: copy_file_range refuses (EXDEV), so the read/write path
  // that skips zero blocks does the copy.
  auto shm = tmpfs_dir();
  if (!shm) GTEST_SKIP() << "no tmpfs at /dev/shm";
  TempDir t;
  const std::string image = shm->path() + "/base.img", disk = t.path() + "/disk.img";
  make_sparse_image(image, 64 * MiB, {4096, 20 * MiB, 50 * MiB});
  // Zeros written as data must come out as holes too.
  {
    int fd = ::open(image.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::string zeros(2 * MiB, '\0');
    ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), 30 * MiB),
              static_cast<ssize_t>(zeros.size()));
    ::close(fd);
  }
  DiskDriver d;
  DiskOutcome out = d.ensure({image, disk, 0, DiskStrategy::Copy});
  EXPECT_EQ(out.method, DiskMethod::Copy);
  EXPECT_EQ(sha256_file(disk), sha256_file(image));
  EXPECT_LT(allocated_bytes(disk), 1 * MiB);
}

TEST(DiskDriver, GrowsToSizeAndKeepsData) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/disk.img";
  make_sparse_image(image, 8 * MiB, {0, 4 * MiB});
  DiskDriver d;
  DiskOutcome out = d.ensure({image, disk, 32 * MiB, DiskStrategy::Copy});
  EXPECT_EQ(out.result, OpResult::Created);
  EXPECT_EQ(out.size, 32 * MiB);
  EXPECT_EQ(DiskDriver::file_size(disk), 32 * MiB);
  EXPECT_LT(allocated_bytes(disk), 1 * MiB) << "growing must not allocate";

  // The guest wrote something; growing again keeps it.
  {
    int fd = ::open(disk.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "guest-data", 10, 20 * MiB), 10);
    ::close(fd);
  }
  out = d.ensure({image, disk, 64 * MiB, DiskStrategy::Copy});
  EXPECT_EQ(out.result, OpResult::Updated);
  EXPECT_EQ(out.size, 64 * MiB);
  EXPECT_EQ(DiskDriver::file_size(disk), 64 * MiB);
  int fd = ::open(disk.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[10] = {};
  EXPECT_EQ(::pread(fd, buf, 10, 20 * MiB), 10);
  ::close(fd);
  EXPECT_EQ(std::string(buf, 10), "guest-data");
}

TEST(DiskDriver, NeverShrinksOrRewritesAnExistingDisk) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/disk.img";
  make_sparse_image(image, 8 * MiB, {0});
  DiskDriver d;
  d.ensure({image, disk, 32 * MiB, DiskStrategy::Copy});
  const std::string before = sha256_file(disk);
  // Even an image that changed since does not rewrite the VM's disk.
  make_sparse_image(image, 8 * MiB, {4096});
  for (uint64_t size : {uint64_t{0}, 16 * MiB, 32 * MiB}) {
    DiskOutcome out = d.ensure({image, disk, size, DiskStrategy::Copy});
    EXPECT_EQ(out.result, OpResult::Unchanged) << size;
    EXPECT_EQ(out.size, 32 * MiB) << size;
  }
  EXPECT_EQ(DiskDriver::file_size(disk), 32 * MiB);
  EXPECT_EQ(sha256_file(disk), before);
}

TEST(DiskDriver, AutoFallsBackToCopyWhereReflinkIsMissing) {
  TempDir ext4;
  auto shm = tmpfs_dir();
  for (const std::string& dir : {ext4.path(), shm ? shm->path() : std::string()}) {
    if (dir.empty()) continue;
    const std::string image = dir + "/base.img", disk = dir + "/disk.img";
    make_sparse_image(image, 4 * MiB, {0, 1 * MiB});
    DiskDriver d;
    DiskOutcome out = d.ensure({image, disk, 0, DiskStrategy::Auto});
    EXPECT_EQ(out.result, OpResult::Created) << dir;
    EXPECT_EQ(out.method, DiskMethod::Copy) << dir;
    EXPECT_STREQ(to_string(out.method), "copy");
    EXPECT_EQ(sha256_file(disk), sha256_file(image)) << dir;
  }
}

TEST(DiskDriver, ReflinkWhereTheFilesystemCannotIsAnError) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/vms/disk.img";
  make_sparse_image(image, 1 * MiB, {0});
  DiskDriver d;
  std::string msg = error_of(d, {image, disk, 0, DiskStrategy::Reflink});
  EXPECT_NE(msg.find("the filesystem of " + t.path() + "/vms cannot reflink (EOPNOTSUPP)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("use diskStrategy copy or auto"), std::string::npos) << msg;
  EXPECT_FALSE(exists(disk));
  EXPECT_FALSE(exists(disk + ".tmp"));
}

TEST(DiskDriver, SnapshotIsNotAFileDisk) {
  TempDir t;
  make_sparse_image(t.path() + "/base.img", 1 * MiB, {0});
  DiskDriver d;
  std::string msg =
      error_of(d, {t.path() + "/base.img", t.path() + "/disk.img", 0, DiskStrategy::Snapshot});
  EXPECT_NE(msg.find("a device-mapper snapshot is not a file; the disk manager makes it"), std::string::npos)
      << msg;
  EXPECT_FALSE(exists(t.path() + "/disk.img"));
}

TEST(DiskDriver, SizeBelowTheImageNamesBothSizes) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/disk.img";
  make_sparse_image(image, 8 * MiB, {0});
  DiskDriver d;
  std::string msg = error_of(d, {image, disk, 4 * MiB, DiskStrategy::Copy});
  EXPECT_NE(msg.find("4194304"), std::string::npos) << msg;
  EXPECT_NE(msg.find("8388608"), std::string::npos) << msg;
  EXPECT_FALSE(exists(disk));
  EXPECT_FALSE(exists(disk + ".tmp"));
}

TEST(DiskDriver, MissingImageSaysWhichAndWhatToDo) {
  TempDir t;
  DiskDriver d;
  std::string msg =
      error_of(d, {t.path() + "/nope.img", t.path() + "/disk.img", 0, DiskStrategy::Auto});
  EXPECT_NE(msg.find(t.path() + "/nope.img"), std::string::npos) << msg;
  EXPECT_NE(msg.find("apply the Image first"), std::string::npos) << msg;
}

TEST(DiskDriver, LeftoverTempFromACrashIsReplacedAndRemoveCleansUp) {
  TempDir t;
  const std::string image = t.path() + "/base.img", disk = t.path() + "/disk.img";
  make_sparse_image(image, 2 * MiB, {0});
  t.write("disk.img.tmp", "half a disk from a crash");
  DiskDriver d;
  EXPECT_EQ(d.ensure({image, disk, 0, DiskStrategy::Copy}).result, OpResult::Created);
  EXPECT_EQ(sha256_file(disk), sha256_file(image));
  EXPECT_FALSE(exists(disk + ".tmp"));

  t.write("disk.img.tmp", "another leftover");
  d.remove(disk);
  EXPECT_FALSE(exists(disk));
  EXPECT_FALSE(exists(disk + ".tmp"));
  EXPECT_NO_THROW(d.remove(disk)) << "absent is success";
  EXPECT_THROW(DiskDriver::file_size(disk), HostError);
}

TEST(Sha256File, MatchesSha256sum) {
  TempDir t;
  std::mt19937 rng(42);
  std::string big(3 * MiB + 17, '\0');  // crosses the 1 MiB read buffer
  for (char& c : big) c = static_cast<char>(rng());
  const std::string files[] = {t.write("empty", ""), t.write("abc", "abc"), t.write("big", big)};
  for (const std::string& f : files) {
    auto r = test::run_command({"/usr/bin/sha256sum", f});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sha256_file(f), r.out.substr(0, 64)) << f;
  }
  EXPECT_EQ(sha256_file(files[0]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_file(files[1]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file(t.path() + "/missing"), HostError);
}

}  // namespace
}  // namespace banger
