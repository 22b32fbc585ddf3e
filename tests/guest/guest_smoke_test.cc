// The test guest itself: what the disk tests rely on (device-mapper, loop
// devices, writable tmpfs, a read-only host) and, informatively, what the real
// `banger apply` would need (tun, bridge, nf_tables). Every test skips outside
// the guest (guest_env.h).
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/if.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "guest_env.h"

namespace banger::test {
namespace {

namespace fs = std::filesystem;

bool is_char_device(const char* path, unsigned maj, unsigned min) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
         minor(st.st_rdev) == min;
}

long fs_type(const char* path) {
  struct statfs s {};
  return ::statfs(path, &s) == 0 ? static_cast<long>(s.f_type) : -1;
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

TEST(GuestSmoke, SkipsOutsideTheGuest) {
  REQUIRE_GUEST();
  // Reached only in the guest, where init set the marker for the command.
  EXPECT_STREQ(std::getenv("BANGER_GUEST"), "1");
}

TEST(GuestSmoke, KernelHasDeviceMapper) {
  REQUIRE_GUEST();
  EXPECT_TRUE(kernel_has_device_mapper()) << "/proc/misc lists no device-mapper: dm-mod did not load";
  EXPECT_TRUE(fs::exists("/sys/module/dm_mod"));
  EXPECT_TRUE(fs::exists("/sys/module/dm_snapshot")) << "dm-snapshot did not load";
}

TEST(GuestSmoke, DeviceMapperControlAnswersVersion) {
  REQUIRE_GUEST();
  ASSERT_TRUE(is_char_device("/dev/mapper/control", 10, 236)) << "devtmpfs made no /dev/mapper/control";
  UniqueFd fd(::open("/dev/mapper/control", O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd) << "open /dev/mapper/control: " << std::strerror(errno);
  // The ioctl libdevmapper starts with (dm_driver_version): the kernel's interface version.
  struct dm_ioctl io {};
  io.version[0] = DM_VERSION_MAJOR;
  io.data_size = sizeof io;
  ASSERT_EQ(::ioctl(fd.get(), DM_VERSION, &io), 0) << "DM_VERSION: " << std::strerror(errno);
  EXPECT_EQ(io.version[0], static_cast<uint32_t>(DM_VERSION_MAJOR));
  std::printf("device-mapper ioctl interface %u.%u.%u\n", io.version[0], io.version[1], io.version[2]);
}

TEST(GuestSmoke, LoopControlHandsOutAFreeDevice) {
  REQUIRE_GUEST();
  ASSERT_TRUE(is_char_device("/dev/loop-control", 10, 237)) << "devtmpfs made no /dev/loop-control";
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(ctl) << "open /dev/loop-control: " << std::strerror(errno);
  int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
  ASSERT_GE(n, 0) << "LOOP_CTL_GET_FREE: " << std::strerror(errno);
  EXPECT_TRUE(fs::exists("/dev/loop" + std::to_string(n)));
}

TEST(GuestSmoke, TmpIsAWritableTmpfsForEveryone) {
  REQUIRE_GUEST();
  EXPECT_EQ(fs_type("/tmp"), static_cast<long>(TMPFS_MAGIC));
  struct stat st {};
  ASSERT_EQ(::stat("/tmp", &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  char path[] = "/tmp/guest-smoke.XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0) << "mkstemp in /tmp: " << std::strerror(errno);
  EXPECT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
  ::unlink(path);
}

TEST(GuestSmoke, BangerDefaultDirsAreWritable) {
  REQUIRE_GUEST();
  for (const char* dir : {"/run", "/var/lib/banger", "/var/tmp"}) {
    if (!fs::is_directory(dir)) continue;  // the host has none: nothing to shadow
    std::string probe = std::string(dir) + "/guest-smoke-probe";
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << dir << " is not writable in the guest: " << std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
      ::unlink(probe.c_str());
    }
  }
}

TEST(GuestSmoke, HostRootIsReadOnly) {
  REQUIRE_GUEST();
  // The host's / over 9p: nothing a test does may reach the host's files.
  int fd = ::open("/guest-smoke-must-not-exist", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::unlink("/guest-smoke-must-not-exist");
  }
  EXPECT_LT(fd, 0) << "created a file in / of the host";
  EXPECT_EQ(errno, EROFS);
}

TEST(GuestSmoke, OnlyLoopbackAndItIsUp) {
  REQUIRE_GUEST();
  std::vector<std::string> links;
  for (const auto& e : fs::directory_iterator("/sys/class/net")) links.push_back(e.path().filename());
  EXPECT_EQ(links, std::vector<std::string>{"lo"}) << "the guest has a network besides lo";
  unsigned long flags = std::stoul(read_line("/sys/class/net/lo/flags"), nullptr, 16);
  EXPECT_TRUE(flags & IFF_UP) << "lo is down";
  // 127.0.0.1 works: a listener and a connection to it.
  UniqueFd srv(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(srv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(srv.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(srv.get(), 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(srv.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  UniqueFd cli(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(cli);
  EXPECT_EQ(::connect(cli.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
}

// Best effort: what `banger apply` needs for networking. A missing piece skips
// (with what is missing) rather than fails: the disk tests do not need it.
TEST(GuestSmoke, NetworkingModulesForBangerApply) {
  REQUIRE_GUEST();
  std::string missing;
  if (!is_char_device("/dev/net/tun", 10, 200)) missing += " tun (/dev/net/tun)";
  for (const char* m : {"bridge", "veth", "nf_tables", "nft_chain_nat", "nft_masq", "nft_fib_ipv4"}) {
    if (!fs::exists(std::string("/sys/module/") + m)) missing += std::string(" ") + m;
  }
  if (!missing.empty()) GTEST_SKIP() << "not loaded in the guest:" << missing;
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  EXPECT_TRUE(tun) << "open /dev/net/tun: " << std::strerror(errno);
}

}  // namespace
}  // namespace banger::test
