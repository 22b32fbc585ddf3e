// DeviceMapper::list_from_sysfs: banger's dm devices as any user may read
// them (name, uuid, major:minor, what they sit on), from a sysfs-shaped tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "drivers/devmapper.h"

namespace banger {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(DmSysfs, ListsDevicesWithThePrefixTheirUuidsAndDeps) {
  const fs::path sys = fs::temp_directory_path() / ("banger-sysfs-" + std::to_string(::getpid()));
  fs::remove_all(sys);
  put(sys / "block/dm-0/dm/name", "banger-web\n");
  put(sys / "block/dm-0/dm/uuid", "BANGER-abc-web\n");
  put(sys / "block/dm-0/dev", "253:0\n");
  fs::create_directories(sys / "block/dm-0/slaves/loop3");
  fs::create_directories(sys / "block/dm-0/slaves/loop10");
  put(sys / "class/block/loop3/dev", "7:3\n");
  put(sys / "class/block/loop10/dev", "7:10\n");
  put(sys / "block/dm-1/dm/name", "vg0-root\n");  // not banger's
  put(sys / "block/dm-1/dev", "253:1\n");
  put(sys / "block/loop3/dev", "7:3\n");  // not a dm device
  auto devices = DeviceMapper::list_from_sysfs("banger-", sys.string());
  fs::remove_all(sys);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].name, "banger-web");
  EXPECT_EQ(devices[0].uuid, "BANGER-abc-web");
  EXPECT_EQ(devices[0].major, 253u);
  EXPECT_EQ(devices[0].minor, 0u);
  EXPECT_EQ(devices[0].deps, (std::vector<std::string>{"7:10", "7:3"}));
}

TEST(DmSysfs, NoSysfsIsNoDevices) {
  EXPECT_TRUE(DeviceMapper::list_from_sysfs("banger-", "/nonexistent").empty());
}

}  // namespace
}  // namespace banger
