// DeviceMapper (libdevmapper) and LoopDriver together against a real
// device-mapper: run inside the QEMU test guest (tests/guest/run-in-guest.sh),
// whose kernel has dm-mod, dm-snapshot and loop and no udev. Skips where
// device-mapper is missing (the build host). Files live on the guest's tmpfs
// /tmp; every test removes its dm devices, then its loops, also on failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/devmapper.h"
#include "drivers/loop.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t kSize = 16 * MiB;
constexpr uint64_t kSectors = kSize / 512;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// Byte i of a pattern file: (i / 512 + seed) & 0xff, so every sector differs.
std::string pattern(uint64_t off, size_t n, int seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(((off + i) / 512 + seed) & 0xff);
  return out;
}

void write_file(const std::string& path, uint64_t size, std::optional<int> seed) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  if (!seed) {  // sparse, like banger's COW files
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) throw std::runtime_error("ftruncate");
    return;
  }
  for (uint64_t off = 0; off < size; off += MiB) {
    std::string chunk = pattern(off, MiB, *seed);
    if (::pwrite(fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(off)) != MiB) {
      throw std::runtime_error("cannot write " + path);
    }
  }
}

/// FNV-1a of a whole file: enough to see that not one byte changed.
uint64_t file_hash(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  uint64_t h = 1469598103934665603ull;
  std::vector<unsigned char> buf(MiB);
  for (ssize_t n; (n = ::read(fd.get(), buf.data(), buf.size())) > 0;) {
    for (ssize_t i = 0; i < n; ++i) h = (h ^ buf[i]) * 1099511628211ull;
  }
  return h;
}

/// Reads past the page cache (O_DIRECT), so the data really came through dm.
std::string read_direct(const std::string& dev, uint64_t off, size_t n) {
  UniqueFd fd(::open(dev.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
  if (!fd) return std::string("<open failed: ") + std::strerror(errno) + ">";
  void* mem = nullptr;
  if (::posix_memalign(&mem, 4096, n) != 0) return "<no memory>";
  std::unique_ptr<void, decltype(&::free)> buf(mem, ::free);
  ssize_t got = ::pread(fd.get(), mem, n, static_cast<off_t>(off));
  if (got < 0) return std::string("<read failed: ") + std::strerror(errno) + ">";
  return std::string(static_cast<char*>(mem), static_cast<size_t>(got));
}

/// Writes and flushes through the device; -1 and errno on failure.
int write_sync(const std::string& dev, uint64_t off, const std::string& data) {
  UniqueFd fd(::open(dev.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return -1;
  if (::pwrite(fd.get(), data.data(), data.size(), static_cast<off_t>(off)) !=
      static_cast<ssize_t>(data.size())) {
    return -1;
  }
  return ::fsync(fd.get());
}

bool is_block_device(const std::string& path, uint32_t maj, uint32_t min) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == maj &&
         minor(st.st_rdev) == min;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// AUTOCLEAR fires at the last close (dm's, on remove); give the kernel a moment.
bool becomes_unbound(LoopDriver& loops, const LoopDevice& d) {
  for (int i = 0; i < 300; ++i) {
    auto now = loops.describe(d.device);
    if (!now || now->label != d.label) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DeviceMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!DeviceMapper::available(&why)) GTEST_SKIP() << "no device-mapper here: " << why;
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/banger-dm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    dm_.emplace();
  }

  // dm devices first (they hold the loops), then the loops, then the files.
  void TearDown() override {
    if (dm_) {
      for (const auto& name : names_) {
        try {
          dm_->remove(name);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "cleanup: " << e.what();
        }
      }
    }
    for (auto& a : attached_) {
      a.fd.reset();
      try {
        auto d = loops_.describe(a.dev.device);
        if (d && d->label == a.dev.label) loops_.detach(a.dev.device);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cleanup: " << e.what();
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string label(const std::string& what) const {
    return "banger-test-" + std::to_string(::getpid()) + "-" + what;
  }

  /// A file under the test's dir: a pattern (seed) or sparse (nullopt).
  std::string file(const std::string& name, std::optional<int> seed, uint64_t size = kSize) {
    std::string path = dir_ + "/" + name;
    write_file(path, size, seed);
    return path;
  }

  /// Attaches and remembers the loop for cleanup; returns its index in attached_.
  LoopDriver::Attached& attach(const std::string& path, bool ro, const std::string& what) {
    auto t0 = std::chrono::steady_clock::now();
    attached_.push_back(loops_.attach(path, ro, label(what)));
    attach_ms_.push_back(ms_since(t0));
    return attached_.back();
  }

  OpResult snapshot(const std::string& name, const LoopDevice& base, const LoopDevice& cow,
                    uint64_t sectors = kSectors) {
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) names_.push_back(name);
    return dm_->create_snapshot(name, "BANGER-TEST-" + name, base.device, cow.device, sectors);
  }

  std::string dir_;
  LoopDriver loops_;
  std::optional<DeviceMapper> dm_;
  std::vector<LoopDriver::Attached> attached_;
  std::vector<std::string> names_;
  std::vector<double> attach_ms_;
};

TEST_F(DeviceMapperTest, AvailableSaysWhichDriverAndDevicePathIsUnderDevMapper) {
  std::string why;
  EXPECT_TRUE(DeviceMapper::available(&why));
  EXPECT_TRUE(contains(why, "device-mapper driver 4.")) << why;
  EXPECT_EQ(DeviceMapper::device_path("banger-x"), "/dev/mapper/banger-x");
}

TEST_F(DeviceMapperTest, SnapshotWritesGoToTheCowAndLeaveTheBaseUntouched) {
  const std::string base_file = file("base.img", 3), cow_file = file("cow.img", std::nullopt);
  const uint64_t base_hash = file_hash(base_file);
  attached_.reserve(4);
  LoopDevice base = attach(base_file, true, "base").dev;
  LoopDevice cow = attach(cow_file, false, "cow").dev;
  ASSERT_TRUE(base.read_only);
  ASSERT_FALSE(cow.read_only);

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(snapshot("banger-t1", base, cow), OpResult::Created);
  double create_ms = ms_since(t0);
  // dm holds both loops now: AUTOCLEAR detaches them when dm lets go.
  for (auto& a : attached_) a.fd.reset();

  std::optional<DmDevice> d = dm_->get("banger-t1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->uuid, "BANGER-TEST-banger-t1");
  EXPECT_FALSE(d->suspended);
  EXPECT_EQ(d->open_count, 0);
  const std::string path = DeviceMapper::device_path("banger-t1");
  // No udev in the guest: libdevmapper made the node itself.
  EXPECT_TRUE(is_block_device(path, d->major, d->minor)) << path;
  EXPECT_TRUE(is_block_device("/dev/dm-" + std::to_string(d->minor), d->major, d->minor));

  // Reads come from the base until written.
  EXPECT_EQ(read_direct(path, 5 * MiB, 8192), pattern(5 * MiB, 8192, 3));
  const std::string data(64 * 1024, 'W');
  ASSERT_EQ(write_sync(path, 5 * MiB, data), 0) << std::strerror(errno);
  EXPECT_EQ(read_direct(path, 5 * MiB, data.size()), data);
  EXPECT_EQ(read_direct(path, 5 * MiB + data.size(), 4096),
            pattern(5 * MiB + data.size(), 4096, 3));
  EXPECT_EQ(file_hash(base_file), base_hash) << "the base image changed";

  // Observed as banger's observe pass sees it.
  std::vector<DmDevice> all = dm_->list("banger-");
  auto it = std::find_if(all.begin(), all.end(),
                         [](const DmDevice& x) { return x.name == "banger-t1"; });
  ASSERT_NE(it, all.end());
  for (const auto& x : all) EXPECT_EQ(x.name.rfind("banger-", 0), 0u) << x.name;
  ASSERT_EQ(it->targets.size(), 1u);
  EXPECT_EQ(it->targets[0].start, 0u);
  EXPECT_EQ(it->targets[0].length, kSectors);
  EXPECT_EQ(it->targets[0].type, "snapshot");
  EXPECT_EQ(it->targets[0].params, base.majmin() + " " + cow.majmin() + " P 8");
  std::vector<std::string> want = {base.majmin(), cow.majmin()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(it->deps, want);
  EXPECT_TRUE(dm_->list("no-such-prefix-").empty());

  // The loops know their holder, and refuse a detach while it exists.
  const std::string holder = "dm-" + std::to_string(d->minor);
  auto lb = loops_.describe(base.device);
  ASSERT_TRUE(lb.has_value());
  EXPECT_EQ(lb->holders, std::vector<std::string>{holder});
  try {
    loops_.detach(base.device);
    ADD_FAILURE() << "detach of a loop that dm uses succeeded";
  } catch (const HostError& e) {
    EXPECT_TRUE(contains(e.what(), holder)) << e.what();
    EXPECT_TRUE(contains(e.what(), base.device)) << e.what();
  }

  std::optional<SnapshotStatus> st = dm_->snapshot_status("banger-t1");
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->used_sectors, 0u);
  EXPECT_EQ(st->total_sectors, kSectors);
  EXPECT_FALSE(st->invalid);
  EXPECT_FALSE(st->overflow);

  // Idempotent; a different table under the same name is refused.
  EXPECT_EQ(snapshot("banger-t1", base, cow), OpResult::Unchanged);
  try {
    snapshot("banger-t1", base, cow, kSectors / 2);
    ADD_FAILURE() << "a second table under the same name was accepted";
  } catch (const HostError& e) {
    EXPECT_TRUE(contains(e.what(), "banger-t1 exists")) << e.what();
  }
  try {
    dm_->create_snapshot("banger-t1", "SOMEONE-ELSE", base.device, cow.device, kSectors);
    ADD_FAILURE() << "another uuid under the same name was accepted";
  } catch (const HostError& e) {
    EXPECT_TRUE(contains(e.what(), "SOMEONE-ELSE")) << e.what();
  }

  t0 = std::chrono::steady_clock::now();
  dm_->remove("banger-t1");
  double remove_ms = ms_since(t0);
  EXPECT_FALSE(dm_->get("banger-t1").has_value());
  EXPECT_FALSE(exists(path)) << path << " left behind";
  EXPECT_FALSE(dm_->snapshot_status("banger-t1").has_value());
  EXPECT_NO_THROW(dm_->remove("banger-t1"));
  // Their last user gone, the AUTOCLEAR loops detach by themselves.
  EXPECT_TRUE(becomes_unbound(loops_, base));
  EXPECT_TRUE(becomes_unbound(loops_, cow));
  EXPECT_EQ(file_hash(base_file), base_hash);
  std::printf("[ figures  ] attach loop %.1f ms, %.1f ms; create snapshot %.1f ms; remove %.1f ms\n",
              attach_ms_[0], attach_ms_[1], create_ms, remove_ms);
}

TEST_F(DeviceMapperTest, TwoSnapshotsShareOneBaseLoop) {
  const std::string base_file = file("base.img", 9);
  const uint64_t base_hash = file_hash(base_file);
  attached_.reserve(4);
  LoopDevice base = attach(base_file, true, "base").dev;
  LoopDevice cow_a = attach(file("a.cow", std::nullopt), false, "cow-a").dev;
  LoopDevice cow_b = attach(file("b.cow", std::nullopt), false, "cow-b").dev;
  ASSERT_EQ(snapshot("banger-t2a", base, cow_a), OpResult::Created);
  ASSERT_EQ(snapshot("banger-t2b", base, cow_b), OpResult::Created);
  for (auto& a : attached_) a.fd.reset();

  const std::string pa = DeviceMapper::device_path("banger-t2a");
  const std::string pb = DeviceMapper::device_path("banger-t2b");
  ASSERT_EQ(write_sync(pa, 0, std::string(4096, 'a')), 0) << std::strerror(errno);
  ASSERT_EQ(write_sync(pb, 0, std::string(4096, 'b')), 0) << std::strerror(errno);
  EXPECT_EQ(read_direct(pa, 0, 4096), std::string(4096, 'a'));
  EXPECT_EQ(read_direct(pb, 0, 4096), std::string(4096, 'b'));
  EXPECT_EQ(read_direct(pa, 4096, 4096), pattern(4096, 4096, 9));
  EXPECT_EQ(file_hash(base_file), base_hash);
  auto lb = loops_.describe(base.device);
  ASSERT_TRUE(lb.has_value());
  EXPECT_EQ(lb->holders.size(), 2u);

  dm_->remove("banger-t2a");
  EXPECT_TRUE(becomes_unbound(loops_, cow_a));
  // The base loop stays while the other snapshot uses it.
  auto still = loops_.describe(base.device);
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->label, base.label);
  EXPECT_EQ(still->holders.size(), 1u);
  EXPECT_EQ(read_direct(pb, 0, 4096), std::string(4096, 'b'));
  EXPECT_EQ(read_direct(pb, 8192, 4096), pattern(8192, 4096, 9));

  dm_->remove("banger-t2b");
  EXPECT_TRUE(becomes_unbound(loops_, cow_b));
  EXPECT_TRUE(becomes_unbound(loops_, base));
  EXPECT_EQ(file_hash(base_file), base_hash);
}

TEST_F(DeviceMapperTest, RemoveOfAnOpenDeviceSaysItIsInUse) {
  attached_.reserve(2);
  LoopDevice base = attach(file("base.img", 1), true, "base").dev;
  LoopDevice cow = attach(file("cow.img", std::nullopt), false, "cow").dev;
  ASSERT_EQ(snapshot("banger-t3", base, cow), OpResult::Created);
  for (auto& a : attached_) a.fd.reset();
  const std::string path = DeviceMapper::device_path("banger-t3");
  UniqueFd user(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // a running VM
  ASSERT_TRUE(user) << std::strerror(errno);
  EXPECT_EQ(dm_->get("banger-t3")->open_count, 1);

  auto t0 = std::chrono::steady_clock::now();
  try {
    dm_->remove("banger-t3");
    ADD_FAILURE() << "removed a device that is open";
  } catch (const HostError& e) {
    EXPECT_TRUE(contains(e.what(), "banger-t3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "in use")) << e.what();
    EXPECT_TRUE(contains(e.what(), "open 1 time")) << e.what();
  }
  std::printf("[ figures  ] remove of an open device gave up after %.0f ms (libdevmapper retries)\n",
              ms_since(t0));
  EXPECT_TRUE(dm_->get("banger-t3").has_value());
  EXPECT_TRUE(exists(path));
  user.reset();
  EXPECT_NO_THROW(dm_->remove("banger-t3"));
  EXPECT_FALSE(dm_->get("banger-t3").has_value());
  EXPECT_TRUE(becomes_unbound(loops_, base));
}

TEST_F(DeviceMapperTest, PersistentCowKeepsTheDataWhenTheDeviceIsBuiltAgain) {
  const std::string base_file = file("base.img", 5), cow_file = file("cow.img", std::nullopt);
  attached_.reserve(4);
  LoopDevice base = attach(base_file, true, "base").dev;
  LoopDevice cow = attach(cow_file, false, "cow").dev;
  ASSERT_EQ(snapshot("banger-t4", base, cow), OpResult::Created);
  for (auto& a : attached_) a.fd.reset();
  const std::string path = DeviceMapper::device_path("banger-t4");
  const std::string data = std::string(4096, 'P') + std::string(4096, 'Q');
  ASSERT_EQ(write_sync(path, 7 * MiB, data), 0) << std::strerror(errno);
  dm_->remove("banger-t4");
  ASSERT_TRUE(becomes_unbound(loops_, base));
  ASSERT_TRUE(becomes_unbound(loops_, cow));

  // As after a reboot: new loops over the same files, the same COW.
  LoopDevice base2 = attach(base_file, true, "base2").dev;
  LoopDevice cow2 = attach(cow_file, false, "cow2").dev;
  ASSERT_EQ(snapshot("banger-t4", base2, cow2), OpResult::Created);
  attached_[2].fd.reset();
  attached_[3].fd.reset();
  EXPECT_EQ(read_direct(path, 7 * MiB, data.size()), data);
  EXPECT_EQ(read_direct(path, 6 * MiB, 4096), pattern(6 * MiB, 4096, 5));
  std::optional<SnapshotStatus> st = dm_->snapshot_status("banger-t4");
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->used_sectors, 0u);
  EXPECT_FALSE(st->invalid);
}

TEST_F(DeviceMapperTest, AFullCowInvalidatesTheSnapshotAndStatusSaysSo) {
  attached_.reserve(2);
  LoopDevice base = attach(file("base.img", 2), true, "base").dev;
  // 1 MiB of COW for a 16 MiB disk: it fills after ~250 changed chunks.
  LoopDevice cow = attach(file("cow.img", std::nullopt, 1 * MiB), false, "cow").dev;
  ASSERT_EQ(snapshot("banger-t5", base, cow), OpResult::Created);
  for (auto& a : attached_) a.fd.reset();
  const std::string path = DeviceMapper::device_path("banger-t5");
  int rc = write_sync(path, 0, std::string(4 * MiB, 'F'));
  EXPECT_EQ(rc, -1) << "4 MiB of changes fit into a 1 MiB COW";
  std::optional<SnapshotStatus> st = dm_->snapshot_status("banger-t5");
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->invalid);
  EXPECT_NO_THROW(dm_->remove("banger-t5"));
  EXPECT_TRUE(becomes_unbound(loops_, base));
}

TEST_F(DeviceMapperTest, BadInputsGiveClearErrorsAndAbsentIsNotAnError) {
  const std::string plain = file("plain.img", 1, MiB);
  attached_.reserve(1);
  LoopDevice cow = attach(file("cow.img", std::nullopt), false, "cow").dev;
  auto error_of = [&](const std::string& name, const std::string& origin, uint64_t sectors) {
    try {
      if (name.find('/') == std::string::npos) names_.push_back(name);
      dm_->create_snapshot(name, "BANGER-TEST-" + name, origin, cow.device, sectors);
      return std::string("created");
    } catch (const HostError& e) {
      return std::string(e.what());
    }
  };
  std::string e = error_of("banger-t6", plain, kSectors);
  EXPECT_TRUE(contains(e, plain) && contains(e, "not a block device")) << e;
  e = error_of("banger-t6", dir_ + "/missing", kSectors);
  EXPECT_TRUE(contains(e, dir_ + "/missing") && contains(e, "No such file")) << e;
  e = error_of("bad/name", cow.device, kSectors);
  EXPECT_TRUE(contains(e, "bad/name") && contains(e, "not a valid device name")) << e;
  // dm-snapshot refuses a COW that is its own origin: the kernel's refusal
  // must come back as an error naming the device, and leave nothing behind.
  e = error_of("banger-t6", cow.device, kSectors);
  EXPECT_TRUE(contains(e, "banger-t6") && contains(e, "the kernel refused the table")) << e;
  // The kernel's reason, from its log: the ioctl itself only says EINVAL.
  EXPECT_TRUE(contains(e, "COW device cannot be the same as origin device")) << e;
  EXPECT_FALSE(dm_->get("banger-t6").has_value()) << "a failed create left a device";
  EXPECT_FALSE(exists(DeviceMapper::device_path("banger-t6")));

  EXPECT_FALSE(dm_->get("banger-absent").has_value());
  EXPECT_FALSE(dm_->snapshot_status("banger-absent").has_value());
  EXPECT_NO_THROW(dm_->remove("banger-absent"));
}

}  // namespace
}  // namespace banger
