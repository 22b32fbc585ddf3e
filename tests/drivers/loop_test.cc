// LoopDriver against the host kernel. Loop devices are global (no namespace
// hides them), so every test works only on devices its own attach() returned,
// over files in its own temp dir, and a guard detaches them also when an
// assertion fails. Needs root and /dev/loop-control.
#include "drivers/loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
constexpr uint64_t MiB = 1 << 20;

#define REQUIRE_LOOP()                                                                \
  do {                                                                                \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop devices)";                \
    if (::access("/dev/loop-control", F_OK) != 0) GTEST_SKIP() << "no /dev/loop-control"; \
  } while (0)

/// A label only this process uses, so a leftover is recognisable.
std::string test_label(const std::string& what) {
  return "banger-test-" + std::to_string(::getpid()) + "-" + what;
}

/// A file of `size` bytes: the byte at offset i is (i / 512 + seed) & 0xff.
std::string make_file(const TempDir& dir, const std::string& name, uint64_t size, int seed = 0) {
  std::string path = fs::canonical(dir.path()).string() + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw std::runtime_error("cannot create " + path);
  std::vector<unsigned char> buf(MiB);
  for (uint64_t off = 0; off < size; off += buf.size()) {
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(((off + i) / 512 + seed) & 0xff);
    size_t n = std::min<uint64_t>(buf.size(), size - off);
    if (::pwrite(fd.get(), buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) {
      throw std::runtime_error("cannot write " + path);
    }
  }
  return path;
}

std::string read_at(const std::string& path, uint64_t off, size_t n) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "<cannot open " + path + ": " + std::strerror(errno) + ">";
  std::string out(n, '\0');
  ssize_t got = ::pread(fd.get(), out.data(), n, static_cast<off_t>(off));
  out.resize(got < 0 ? 0 : static_cast<size_t>(got));
  return out;
}

uint64_t blk_size(int fd) {
  uint64_t size = 0;
  if (::ioctl(fd, BLKGETSIZE64, &size) < 0) return 0;
  return size;
}

/// Detaches what a test attached, however the test ends: the fd first (which
/// AUTOCLEAR turns into a detach), then LOOP_CLR_FD for good measure, but only
/// while the device still carries this test's label.
struct LoopGuard {
  LoopDriver& loops;
  LoopDriver::Attached a;
  ~LoopGuard() {
    std::string device = a.dev.device, label = a.dev.label;
    a.fd.reset();
    try {
      auto d = loops.describe(device);
      if (d && d->label == label) loops.detach(device);
    } catch (const std::exception&) {
    }
  }
  const LoopDevice& dev() const { return a.dev; }
};

/// AUTOCLEAR fires at the last close; allow the kernel a moment in case a
/// version does it asynchronously.
bool becomes_unbound(LoopDriver& loops, const std::string& device, const std::string& label) {
  for (int i = 0; i < 200; ++i) {
    auto d = loops.describe(device);
    if (!d || d->label != label) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

const LoopDevice* find_by_backing(const std::vector<LoopDevice>& all, const std::string& file) {
  for (const auto& d : all) {
    if (d.backing_file == file) return &d;
  }
  return nullptr;
}

TEST(LoopDriver, AttachReadWriteDescribesTheDeviceAndWritesReachTheFile) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "rw.img", 8 * MiB);
  LoopDriver loops;
  std::string label = test_label("rw");
  LoopGuard g{loops, loops.attach(file, false, label)};
  const LoopDevice& d = g.dev();

  ASSERT_TRUE(g.a.fd);
  EXPECT_EQ(d.device, "/dev/loop" + std::to_string(d.number));
  EXPECT_EQ(d.major, 7u);
  EXPECT_EQ(d.majmin(), "7:" + std::to_string(d.minor));
  EXPECT_EQ(d.backing_file, file);
  EXPECT_FALSE(d.backing_deleted);
  EXPECT_FALSE(d.read_only);
  EXPECT_TRUE(d.autoclear);
  EXPECT_EQ(d.size, 8 * MiB);
  EXPECT_EQ(d.label, label);
  EXPECT_TRUE(d.holders.empty());
  EXPECT_EQ(blk_size(g.a.fd.get()), 8 * MiB);

  struct stat st {};
  ASSERT_EQ(::stat(d.device.c_str(), &st), 0);
  EXPECT_EQ(major(st.st_rdev), d.major);
  EXPECT_EQ(minor(st.st_rdev), d.minor);

  // A write through the device lands in the file.
  const std::string text = "written through the loop device";
  {
    UniqueFd dev(::open(d.device.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(dev) << std::strerror(errno);
    ASSERT_EQ(::pwrite(dev.get(), text.data(), text.size(), 3 * MiB),
              static_cast<ssize_t>(text.size()))
        << std::strerror(errno);
    ASSERT_EQ(::fsync(dev.get()), 0);
  }
  EXPECT_EQ(read_at(file, 3 * MiB, text.size()), text);
}

TEST(LoopDriver, ReadOnlyAttachReadsTheFileAndRefusesWritesWithEPERM) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "ro.img", 4 * MiB, 7);
  ASSERT_EQ(::chmod(file.c_str(), 0400), 0);  // O_RDONLY must be enough
  LoopDriver loops;
  std::string label = test_label("ro");
  LoopGuard g{loops, loops.attach(file, true, label)};
  EXPECT_TRUE(g.dev().read_only);
  EXPECT_TRUE(g.dev().autoclear);
  EXPECT_EQ(g.dev().label, label);
  EXPECT_EQ(read_at(g.dev().device, 1 * MiB, 4096), read_at(file, 1 * MiB, 4096));

  // The device opens for writing, but a write is refused.
  UniqueFd dev(::open(g.dev().device.c_str(), O_WRONLY | O_CLOEXEC));
  if (dev) {
    const char x[512] = {1};
    errno = 0;
    EXPECT_EQ(::pwrite(dev.get(), x, sizeof x, 0), -1);
    EXPECT_EQ(errno, EPERM) << std::strerror(errno);
  } else {
    EXPECT_TRUE(errno == EACCES || errno == EROFS) << std::strerror(errno);
  }
  EXPECT_EQ(read_at(file, 0, 512), std::string(512, '\x07'));  // unchanged: sector 0, seed 7
}

TEST(LoopDriver, ListShowsTheLabelAndFindsDevicesByBackingFile) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string a = make_file(dir, "a.img", 1 * MiB), b = make_file(dir, "b.img", 2 * MiB);
  LoopDriver loops;
  LoopGuard ga{loops, loops.attach(a, true, test_label("a"))};
  LoopGuard gb{loops, loops.attach(b, false, test_label("b"))};
  EXPECT_NE(ga.dev().device, gb.dev().device);

  std::vector<LoopDevice> all = loops.list();
  const LoopDevice* la = find_by_backing(all, a);
  const LoopDevice* lb = find_by_backing(all, b);
  ASSERT_NE(la, nullptr) << "list() misses " << ga.dev().device;
  ASSERT_NE(lb, nullptr) << "list() misses " << gb.dev().device;
  EXPECT_EQ(la->device, ga.dev().device);
  EXPECT_EQ(la->label, test_label("a"));
  EXPECT_TRUE(la->read_only);
  EXPECT_EQ(la->size, 1 * MiB);
  EXPECT_EQ(lb->device, gb.dev().device);
  EXPECT_EQ(lb->label, test_label("b"));
  EXPECT_FALSE(lb->read_only);
  EXPECT_EQ(lb->size, 2 * MiB);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].number, all[i].number);
}

TEST(LoopDriver, AutoclearDetachesWhenTheLastFdCloses) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "auto.img", 1 * MiB);
  LoopDriver loops;
  std::string label = test_label("auto");
  LoopGuard g{loops, loops.attach(file, false, label)};
  std::string device = g.dev().device;
  ASSERT_TRUE(loops.describe(device).has_value());
  g.a.fd.reset();
  EXPECT_TRUE(becomes_unbound(loops, device, label));
  EXPECT_EQ(find_by_backing(loops.list(), file), nullptr);
}

TEST(LoopDriver, HoldKeepsAnAutoclearDeviceBoundAfterTheAttachFdCloses) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "hold.img", 1 * MiB);
  LoopDriver loops;
  std::string label = test_label("hold");
  LoopGuard g{loops, loops.attach(file, true, label)};
  std::string device = g.dev().device;
  UniqueFd held = loops.hold(device);
  ASSERT_TRUE(held);
  g.a.fd.reset();
  auto d = loops.describe(device);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->label, label);
  held.reset();
  EXPECT_TRUE(becomes_unbound(loops, device, label));
  try {
    UniqueFd again = loops.hold(device);
    // Only when another process attached something in between.
    auto now = loops.describe(device);
    EXPECT_TRUE(now && now->label != label);
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find(device), std::string::npos) << e.what();
  }
}

TEST(LoopDriver, DetachIsIdempotentAndWaitsForTheLastOpener) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "detach.img", 1 * MiB);
  LoopDriver loops;
  std::string label = test_label("detach");
  LoopGuard g{loops, loops.attach(file, false, label)};
  std::string device = g.dev().device;
  // Our attach fd still has it open: the kernel defers the detach to its close.
  EXPECT_NO_THROW(loops.detach(device));
  g.a.fd.reset();
  EXPECT_TRUE(becomes_unbound(loops, device, label));
  EXPECT_NO_THROW(loops.detach(device));
  EXPECT_NO_THROW(loops.detach(device));
  EXPECT_NO_THROW(loops.detach("/dev/loop987654"));  // no such device at all
  EXPECT_THROW(loops.detach("/dev/sda"), HostError);
  EXPECT_THROW(loops.detach("/dev/loop"), HostError);
  EXPECT_THROW(loops.detach("/dev/loop1x"), HostError);
}

TEST(LoopDriver, DeletedBackingFileIsFlaggedAndItsPathKept) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "gone.img", 1 * MiB);
  LoopDriver loops;
  LoopGuard g{loops, loops.attach(file, false, test_label("gone"))};
  ASSERT_EQ(::unlink(file.c_str()), 0);
  auto d = loops.describe(g.dev().device);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->backing_deleted);
  EXPECT_EQ(d->backing_file, file);
  auto all = loops.list();  // kept: l points into it
  const LoopDevice* l = find_by_backing(all, file);
  ASSERT_NE(l, nullptr);
  EXPECT_TRUE(l->backing_deleted);
}

TEST(LoopDriver, RefreshSizeGrowsTheDeviceAfterTheFileGrew) {
  REQUIRE_LOOP();
  TempDir dir;
  std::string file = make_file(dir, "grow.img", 4 * MiB);
  LoopDriver loops;
  LoopGuard g{loops, loops.attach(file, false, test_label("grow"))};
  ASSERT_EQ(::truncate(file.c_str(), 12 * MiB), 0);
  EXPECT_EQ(loops.describe(g.dev().device)->size, 4 * MiB);  // not before the refresh
  loops.refresh_size(g.dev().device);
  EXPECT_EQ(loops.describe(g.dev().device)->size, 12 * MiB);
  EXPECT_EQ(blk_size(g.a.fd.get()), 12 * MiB);
  g.a.fd.reset();
  EXPECT_TRUE(becomes_unbound(loops, g.dev().device, g.dev().label));
  try {
    loops.refresh_size(g.dev().device);
    auto now = loops.describe(g.dev().device);  // only if someone else took it meanwhile
    EXPECT_TRUE(now && now->label != g.dev().label);
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("not attached"), std::string::npos) << e.what();
  }
}

TEST(LoopDriver, ConcurrentAttachesEachGetTheirOwnDevice) {
  REQUIRE_LOOP();
  TempDir dir;
  LoopDriver loops;
  constexpr int kThreads = 6, kEach = 4;
  std::vector<std::string> files;
  for (int i = 0; i < kThreads * kEach; ++i) {
    files.push_back(make_file(dir, "c" + std::to_string(i) + ".img", 64 * 1024));
  }
  // Several attachers ask LOOP_CTL_GET_FREE at once and are often handed the
  // same number; the losers must retry, not fail or share a device.
  std::vector<std::optional<LoopDriver::Attached>> got(files.size());
  std::vector<std::string> errors(files.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kEach; ++k) {
        size_t i = static_cast<size_t>(t * kEach + k);
        try {
          got[i] = loops.attach(files[i], k % 2 == 0, test_label("c" + std::to_string(i)));
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::unique_ptr<LoopGuard>> guards;
  for (auto& g : got) {
    if (g) guards.push_back(std::unique_ptr<LoopGuard>(new LoopGuard{loops, std::move(*g)}));
  }
  for (const auto& e : errors) EXPECT_EQ(e, "");
  ASSERT_EQ(guards.size(), files.size());
  std::set<std::string> devices;
  for (const auto& g : guards) devices.insert(g->dev().device);
  EXPECT_EQ(devices.size(), files.size()) << "two files share a loop device";
  std::vector<LoopDevice> all = loops.list();
  for (const auto& g : guards) {
    const LoopDevice* l = find_by_backing(all, g->dev().backing_file);
    ASSERT_NE(l, nullptr) << g->dev().backing_file;
    EXPECT_EQ(l->device, g->dev().device);
    EXPECT_EQ(l->label, g->dev().label);
  }
}

TEST(LoopDriver, AttachGivesClearErrorsForAMissingFileADirectoryAndALongLabel) {
  REQUIRE_LOOP();
  TempDir dir;
  LoopDriver loops;
  const std::string missing = dir.path() + "/missing.img";
  auto error_of = [&](const std::string& file, bool ro, const std::string& label) {
    try {
      LoopGuard g{loops, loops.attach(file, ro, label)};
      return std::string("attached ") + g.dev().device;
    } catch (const HostError& e) {
      return std::string(e.what());
    }
  };
  std::string e = error_of(missing, true, test_label("x"));
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;

  e = error_of(dir.path(), true, test_label("x"));
  EXPECT_NE(e.find(dir.path()), std::string::npos) << e;
  EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
  e = error_of(dir.path(), false, test_label("x"));
  EXPECT_NE(e.find(dir.path()), std::string::npos) << e;
  EXPECT_NE(e.find("regular file"), std::string::npos) << e;

  std::string file = make_file(dir, "label.img", 1 * MiB);
  e = error_of(file, true, std::string(64, 'l'));
  EXPECT_NE(e.find("at most 63"), std::string::npos) << e;
  EXPECT_EQ(find_by_backing(loops.list(), file), nullptr);
  // 63 bytes is the longest label and is kept whole.
  std::string longest = test_label("") + std::string(63 - test_label("").size(), 'm');
  LoopGuard g{loops, loops.attach(file, true, longest)};
  EXPECT_EQ(loops.describe(g.dev().device)->label, longest);
}

}  // namespace
}  // namespace banger
