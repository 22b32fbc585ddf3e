// Layers built here with libarchive's writer (tar+gzip, tar+zstd), unpacked
// by flatten_layers into a temp folder, the result read back from the
// filesystem: whiteouts, links, owners and modes as the layers say, and the
// hostile corpus refused with the layer and path named, nothing written
// outside. Root: owners are set with chown.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "common/host_error.h"
#include "drivers/oci_flatten.h"
#include "oci_layers.h"
#include "run_command.h"

namespace banger {
namespace {

using test::Entry;
using test::write_layer;

namespace fs = std::filesystem;

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class OciFlatten : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (owners and devices)";
    root_ = dir_.path() + "/root";
    fs::create_directory(root_);
  }
  LayerFile layer(const std::string& name, const std::vector<Entry>& entries, const char* filter = "gzip") {
    return {write_layer(dir_.path() + "/" + name, entries, filter), "sha256:" + name};
  }
  std::string refused(const std::vector<LayerFile>& layers, uint64_t max = 1 << 20) {
    try {
      flatten_layers(layers, root_, max);
    } catch (const HostError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted";
    return "";
  }
  test::TempDir dir_;
  std::string root_;
};

TEST_F(OciFlatten, TwoLayersWithWhiteoutsLinksOwnersAndModes) {
  auto base = layer("base", {{"./etc/", AE_IFDIR, "", 0755},
                             {"./etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\n"},
                             {"etc/gone", AE_IFREG, "lower"},
                             {"etc/keep/", AE_IFDIR, "", 0750},
                             {"etc/keep/a", AE_IFREG, "a"},
                             {"opaque/", AE_IFDIR, "", 0755},
                             {"opaque/lower", AE_IFREG, "lower"},
                             {"bin/", AE_IFDIR, "", 0755},
                             {"bin/busybox", AE_IFREG, "ELF", 04755, 0, 0},
                             {"bin/sh", AE_IFLNK, "busybox", 0777},
                             {"bin/ls", AE_IFREG, "bin/busybox", 0755, 0, 0, true},
                             {"home/user/", AE_IFDIR, "", 0700, 1000, 1000},
                             {"home/user/.profile", AE_IFREG, "x", 0600, 1000, 1000},
                             {"dev/", AE_IFDIR, "", 0755},
                             {"dev/null", AE_IFCHR, "", 0666, 0, 0, false, -1, makedev(1, 3)}});
  auto top = layer("top", {{"etc/.wh.gone", AE_IFREG, ""},
                           {"opaque/upper", AE_IFREG, "upper"},
                           {"opaque/.wh..wh..opq", AE_IFREG, ""},
                           {"etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n"},
                           {"usr/lib/os-release", AE_IFREG, "ID=test\n"},
                           {"etc/os-release", AE_IFLNK, "../usr/lib/os-release"},
                           {"etc/abs", AE_IFLNK, "/usr/lib/os-release"}},
                   "zstd");
  FlattenStats s = flatten_layers({base, top}, root_, 1 << 20);
  EXPECT_EQ(s.entries, 22u);

  EXPECT_FALSE(fs::exists(root_ + "/etc/gone")) << "the whiteout removed it";
  EXPECT_TRUE(fs::exists(root_ + "/etc/keep/a"));
  EXPECT_FALSE(fs::exists(root_ + "/opaque/lower")) << "the opaque folder hid the lower layer's file";
  EXPECT_EQ(slurp(root_ + "/opaque/upper"), "upper") << "but kept its own layer's";
  EXPECT_NE(slurp(root_ + "/etc/passwd").find("user:x:1000"), std::string::npos) << "the upper layer's version";
  EXPECT_FALSE(fs::exists(root_ + "/etc/.wh.gone"));
  EXPECT_FALSE(fs::exists(root_ + "/opaque/.wh..wh..opq"));

  struct stat st {};
  ASSERT_EQ(::lstat((root_ + "/bin/busybox").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  struct stat ls {};
  ASSERT_EQ(::lstat((root_ + "/bin/ls").c_str(), &ls), 0);
  EXPECT_EQ(ls.st_ino, st.st_ino) << "a hard link";
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(fs::read_symlink(root_ + "/bin/sh"), "busybox");
  EXPECT_EQ(fs::read_symlink(root_ + "/etc/os-release"), "../usr/lib/os-release");
  EXPECT_EQ(fs::read_symlink(root_ + "/etc/abs"), "/usr/lib/os-release");
  ASSERT_EQ(::lstat((root_ + "/home/user/.profile").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat((root_ + "/home/user").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::lstat((root_ + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(OciFlatten, HostilePathsAreRefusedNamingTheLayerAndPath) {
  const std::string outside = dir_.path() + "/outside";
  std::string e = refused({layer("dotdot", {{"../outside", AE_IFREG, "x"}})});
  EXPECT_NE(e.find("layer 1 (sha256:dotdot): ../outside has a \"..\" component"), std::string::npos) << e;
  e = refused({layer("deep", {{"a/b/../../../outside", AE_IFREG, "x"}})});
  EXPECT_NE(e.find("has a \"..\" component"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(outside));

  // A symlink to outside, then a write through it, in the next layer.
  e = refused({layer("l1", {{"etc", AE_IFLNK, dir_.path()}}), layer("l2", {{"etc/outside", AE_IFREG, "x"}})});
  EXPECT_NE(e.find("layer 2 (sha256:l2): etc/outside is inside etc, which a lower layer made a symlink"),
            std::string::npos) << e;
  EXPECT_FALSE(fs::exists(outside));
  // A whiteout through it would delete the host's file.
  std::ofstream(outside) << "host file";
  fs::remove_all(root_);
  fs::create_directory(root_);
  e = refused({layer("w1", {{"etc", AE_IFLNK, dir_.path()}}), layer("w2", {{"etc/.wh.outside", AE_IFREG, ""}})});
  EXPECT_NE(e.find("which a lower layer made a symlink"), std::string::npos) << e;
  EXPECT_TRUE(fs::exists(outside)) << "a whiteout through a symlink deleted a file outside the root";

  fs::remove_all(root_);
  fs::create_directory(root_);
  e = refused({layer("climb", {{"a/up", AE_IFLNK, "../../../etc/shadow"}})});
  EXPECT_NE(e.find("a/up is a symlink to \"../../../etc/shadow\", which climbs above the image's root"),
            std::string::npos) << e;
  e = refused({layer("hl", {{"x", AE_IFREG, "/etc/shadow", 0644, 0, 0, true}})});
  EXPECT_NE(e.find("x is a hard link to etc/shadow, which is not a file unpacked before it"), std::string::npos) << e;
  e = refused({layer("hl2", {{"x", AE_IFREG, "../../etc/shadow", 0644, 0, 0, true}})});
  EXPECT_NE(e.find("outside the image's root"), std::string::npos) << e;
  // A loop, then a write through it.
  fs::remove_all(root_);
  fs::create_directory(root_);
  e = refused({layer("loop1", {{"a", AE_IFLNK, "b"}, {"b", AE_IFLNK, "a"}}), layer("loop2", {{"a/f", AE_IFREG, "x"}})});
  EXPECT_NE(e.find("a/f is inside a, which a lower layer made a symlink"), std::string::npos) << e;
}

TEST_F(OciFlatten, SizesBeyondTheCapAndBrokenTarsAreRefused) {
  // A bomb: 4 MiB of zeros compress to a few KiB.
  std::string e = refused({layer("bomb", {{"zeros", AE_IFREG, std::string(4 << 20, '\0')}})}, 1 << 20);
  EXPECT_NE(e.find("layer 1 (sha256:bomb): zeros makes the image more than 1048576 bytes"), std::string::npos) << e;
  e = refused({layer("many", {{"a", AE_IFREG, std::string(600 << 10, 'a')}, {"b", AE_IFREG, std::string(600 << 10, 'b')}})},
              1 << 20);
  EXPECT_NE(e.find("b makes the image more than"), std::string::npos) << e;
  std::ofstream(dir_.path() + "/junk") << "this is not a tar at all, nor gzip";
  e = refused({{dir_.path() + "/junk", "sha256:junk"}});
  EXPECT_NE(e.find("layer 1 (sha256:junk): not a readable tar"), std::string::npos) << e;
  // Cut short: the first half of a real layer.
  auto whole = layer("whole", {{"big", AE_IFREG, std::string(300 << 10, 'x')}}, "zstd");
  const auto size = fs::file_size(whole.path);
  fs::resize_file(whole.path, size / 2);
  e = refused({whole});
  EXPECT_NE(e.find("layer 1 (sha256:whole)"), std::string::npos) << e;
}

TEST(OciFlattenPaths, CleanAndStayInside) {
  EXPECT_EQ(clean_layer_path("./usr//bin/"), "usr/bin");
  EXPECT_EQ(clean_layer_path("/etc/./passwd"), "etc/passwd");
  EXPECT_EQ(clean_layer_path("./"), "");
  EXPECT_EQ(clean_layer_path("a/../b"), std::nullopt);
  EXPECT_TRUE(symlink_stays_inside("bin/sh", "busybox"));
  EXPECT_TRUE(symlink_stays_inside("etc/os-release", "../usr/lib/os-release"));
  EXPECT_TRUE(symlink_stays_inside("etc/x", "/anything/at/all"));
  EXPECT_FALSE(symlink_stays_inside("etc/x", "../../y"));
  EXPECT_FALSE(symlink_stays_inside("x", "../y"));
  EXPECT_TRUE(symlink_stays_inside("a/b/c", "../../d/../e"));
  EXPECT_FALSE(symlink_stays_inside("x", ""));
}

}  // namespace
}  // namespace banger
