// write_guest_files / read_guest_file against real images made by mke2fs,
// checked with the e2fsprogs tools (debugfs reads back, e2fsck -fn must find
// nothing to fix), with and without a journal. Each test makes its images in
// its own temp dir, removed by a destructor so a failed assertion removes
// them too.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "drivers/ext4_files.h"

namespace banger {
namespace {

namespace fs = std::filesystem;

struct Cmd {
  int status;
  std::string out;
};

// stdout (and stderr unless told) of a shell command, and its exit status.
Cmd run(const std::string& cmd, bool with_stderr = true) {
  Cmd r{-1, ""};
  FILE* p = ::popen((cmd + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ext4_files_test.XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string path() const { return path_; }

 private:
  std::string path_;
};

// Param: extra mke2fs options ("" keeps the journal).
class Ext4Files : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    img_ = dir_.path() + "/rootfs.ext4";
    Cmd r = run(std::string("mke2fs -q -t ext4 -F ") + GetParam() + " " + img_ + " 32M");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  Cmd debugfs(const std::string& req, bool write = false) {
    return run("debugfs " + std::string(write ? "-w " : "") + "-R '" + req + "' " + img_);
  }
  // Without stderr, where debugfs prints its version line.
  std::string cat(const std::string& guest) { return run("debugfs -R 'cat " + guest + "' " + img_, false).out; }
  // "Mode:  0600" and "User:  1000   Group:  1000" of `debugfs stat`.
  std::string stat_of(const std::string& guest) {
    std::string out = debugfs("stat " + guest).out;
    std::smatch m;
    std::string mode, owner, type;
    if (std::regex_search(out, m, std::regex(R"(Type: (\S+)\s+Mode:\s+(\d+))"))) type = m[1], mode = m[2];
    if (std::regex_search(out, m, std::regex(R"(User:\s+(\d+)\s+Group:\s+(\d+))"))) owner = std::string(m[1]) + ":" + std::string(m[2]);
    return type + " " + mode + " " + owner;
  }
  void expect_clean() {
    Cmd r = run("e2fsck -fn " + img_);
    EXPECT_EQ(r.status, 0) << r.out;
  }

  TempDir dir_;
  std::string img_;
};

TEST_P(Ext4Files, WritesDirsAndFilesWithModesAndOwners) {
  ASSERT_EQ(debugfs("mkdir /root", true).status, 0);
  write_guest_files(img_, {{"/root", 0700, 0, 0}, {"/root/.ssh", 0700, 0, 0}, {"/home/u/.ssh", 0700, 1000, 1000}},
                    {{"/etc/hostname", "web\n", 0644, 0, 0},
                     {"/root/.ssh/authorized_keys", "ssh-ed25519 AAAA root\n", 0600, 0, 0},
                     {"/home/u/.ssh/authorized_keys", "ssh-ed25519 BBBB u\n", 0600, 1000, 1000},
                     {"/home/u/big-ids", "x", 0640, 100000, 70000}});
  expect_clean();
  EXPECT_EQ(cat("/etc/hostname"), "web\n");
  EXPECT_EQ(cat("/root/.ssh/authorized_keys"), "ssh-ed25519 AAAA root\n");
  EXPECT_EQ(stat_of("/root"), "directory 0700 0:0");
  EXPECT_EQ(stat_of("/root/.ssh"), "directory 0700 0:0");
  EXPECT_EQ(stat_of("/root/.ssh/authorized_keys"), "regular 0600 0:0");
  EXPECT_EQ(stat_of("/etc"), "directory 0755 0:0");  // a missing parent
  EXPECT_EQ(stat_of("/home/u"), "directory 0755 0:0");
  EXPECT_EQ(stat_of("/home/u/.ssh"), "directory 0700 1000:1000");
  EXPECT_EQ(stat_of("/home/u/.ssh/authorized_keys"), "regular 0600 1000:1000");
  EXPECT_EQ(stat_of("/home/u/big-ids"), "regular 0640 100000:70000");  // the high 16 bits
  // Extent-mapped like the kernel's own ext4 files (block maps would work, but
  // are not what an ext4 guest expects of new files).
  EXPECT_NE(debugfs("stat /etc/hostname").out.find("EXTENTS:"), std::string::npos);
  EXPECT_EQ(read_guest_file(img_, "/home/u/.ssh/authorized_keys"), "ssh-ed25519 BBBB u\n");
}

TEST_P(Ext4Files, OverwritesWithShorterAndLongerContent) {
  std::string big(100 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7) % 26);
  write_guest_files(img_, {}, {{"/etc/hostname", "a-rather-long-hostname\n", 0644, 0, 0}, {"/etc/big", big, 0644, 0, 0}});
  expect_clean();
  write_guest_files(img_, {}, {{"/etc/hostname", "db\n", 0600, 0, 0}, {"/etc/big", "small", 0644, 0, 0}});
  expect_clean();
  EXPECT_EQ(cat("/etc/hostname"), "db\n");
  EXPECT_EQ(stat_of("/etc/hostname"), "regular 0600 0:0");
  EXPECT_EQ(read_guest_file(img_, "/etc/big"), "small");
  write_guest_files(img_, {}, {{"/etc/hostname", big, 0644, 0, 0}});
  expect_clean();
  EXPECT_EQ(read_guest_file(img_, "/etc/hostname"), big);
  Cmd r = run("debugfs -R 'dump /etc/hostname " + dir_.path() + "/out' " + img_);
  EXPECT_EQ(slurp(dir_.path() + "/out"), big) << r.out;
}

TEST_P(Ext4Files, ReplacesSymlinksWithoutFollowingThem) {
  ASSERT_EQ(debugfs("mkdir /etc", true).status, 0);
  ASSERT_EQ(debugfs("symlink /etc/resolv.conf /run/systemd/resolve/stub-resolv.conf", true).status, 0);
  // Longer than 60 bytes: stored in a block, not in the inode, so freeing it matters.
  std::string slow = "/run/" + std::string(80, 'x');
  ASSERT_EQ(debugfs("symlink /etc/slow " + slow, true).status, 0);
  ASSERT_EQ(stat_of("/etc/resolv.conf").substr(0, 8), "symlink ");
  write_guest_files(img_, {}, {{"/etc/resolv.conf", "nameserver 10.0.0.1\n", 0644, 0, 0}, {"/etc/slow", "s", 0644, 0, 0}});
  expect_clean();
  EXPECT_EQ(stat_of("/etc/resolv.conf"), "regular 0644 0:0");
  EXPECT_EQ(cat("/etc/resolv.conf"), "nameserver 10.0.0.1\n");
  EXPECT_EQ(cat("/etc/slow"), "s");
  EXPECT_EQ(read_guest_file(img_, "/run/systemd/resolve/stub-resolv.conf"), std::nullopt);
}

TEST_P(Ext4Files, ExpandsADirectoryFor300Files) {
  std::vector<GuestFile> files;
  for (int i = 0; i < 300; ++i)
    files.push_back({"/etc/ssh/file-with-a-long-name-to-fill-blocks-" + std::to_string(i), std::to_string(i), 0600, 0, 0});
  write_guest_files(img_, {}, files);
  expect_clean();
  // Give it an htree index, as the kernel does for a big directory, and add
  // to it again: ext2fs_link then inserts through the index.
  Cmd r = run("e2fsck -fyD " + img_);
  ASSERT_LE(r.status, 1) << r.out;  // 1: "file system was modified"
  ASSERT_NE(debugfs("htree /etc/ssh").out.find("Root node dump"), std::string::npos);
  files.resize(100);
  for (int i = 300; i < 400; ++i)
    files.push_back({"/etc/ssh/file-with-a-long-name-to-fill-blocks-" + std::to_string(i), std::to_string(i), 0600, 0, 0});
  write_guest_files(img_, {}, files);
  expect_clean();
  for (int i : {0, 150, 299, 399})
    EXPECT_EQ(read_guest_file(img_, "/etc/ssh/file-with-a-long-name-to-fill-blocks-" + std::to_string(i)), std::to_string(i));
  // 300 entries of about 50 bytes take about 15 KiB: more than one block of
  // any size (mke2fs picks 1 KiB for 32 MiB), so the directory was expanded.
  std::string out = debugfs("stat /etc/ssh").out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(Project:\s+\d+\s+Size: (\d+))"))) << out;
  EXPECT_GT(std::stoul(m[1]), 4096u) << out;
}

TEST_P(Ext4Files, ReadsFollowingGuestSymlinksAndWritesThroughParentSymlinks) {
  write_guest_files(img_, {{"/usr/bin", 0755, 0, 0}}, {{"/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644, 0, 0}});
  ASSERT_EQ(debugfs("symlink /etc/passwd-abs /etc/passwd", true).status, 0);
  ASSERT_EQ(debugfs("symlink /etc/passwd-rel ../../etc/passwd", true).status, 0);
  ASSERT_EQ(debugfs("symlink /bin usr/bin", true).status, 0);  // usrmerge
  EXPECT_EQ(read_guest_file(img_, "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(read_guest_file(img_, "/etc/passwd-abs"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(read_guest_file(img_, "/etc/passwd-rel"), "root:x:0:0::/root:/bin/sh\n");  // ".." stops at the guest root
  EXPECT_EQ(read_guest_file(img_, "/etc/shadow"), std::nullopt);
  EXPECT_EQ(read_guest_file(img_, "/nope/shadow"), std::nullopt);
  EXPECT_EQ(read_guest_file(img_, "/etc/passwd/x"), std::nullopt);
  EXPECT_THROW(read_guest_file(img_, "/etc"), HostError);
  write_guest_files(img_, {}, {{"/bin/tool", "#!/bin/sh\n", 0755, 0, 0}});
  expect_clean();
  EXPECT_EQ(cat("/usr/bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ(stat_of("/bin").substr(0, 8), "symlink ");
}

TEST_P(Ext4Files, ErrorsNameTheImageAndTheGuestPath) {
  write_guest_files(img_, {}, {{"/etc/hostname", "web\n", 0644, 0, 0}});
  try {
    write_guest_files(img_, {}, {{"/etc/hostname/x", "y", 0644, 0, 0}});
    ADD_FAILURE() << "a file as a parent was accepted";
  } catch (const HostError& e) {
    EXPECT_EQ(std::string(e.what()), "writing /etc/hostname/x into " + img_ + ": /etc/hostname in the guest is not a directory");
    EXPECT_EQ(e.code(), ErrorCode::Conflict);
  }
  EXPECT_THROW(write_guest_files(img_, {}, {{"/etc", "y", 0644, 0, 0}}), HostError);  // a directory is not replaced
  expect_clean();
}

TEST_P(Ext4Files, AFullDiskFailsAndStaysConsistent) {
  try {
    write_guest_files(img_, {}, {{"/etc/a", "a", 0644, 0, 0}, {"/etc/huge", std::string(40 << 20, 'x'), 0644, 0, 0}});
    ADD_FAILURE() << "40 MiB fit into 32 MiB";
  } catch (const HostError& e) {
    EXPECT_EQ(e.code(), ErrorCode::Exhausted) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("writing /etc/huge into " + img_ + ": ", 0), 0u) << e.what();
  }
  expect_clean();  // what was written before the error was flushed with its bitmaps
  EXPECT_EQ(read_guest_file(img_, "/etc/a"), "a");
}

TEST_P(Ext4Files, RefusesBadPathsAndModesWithoutTouchingTheImage) {
  std::string before = slurp(img_);
  for (const char* p : {"etc/hostname", "/etc/../root/x", "/etc//x", "/etc/", "/", "/./x", "", "/etc/."}) {
    EXPECT_THROW(write_guest_files(img_, {}, {{p, "x", 0644, 0, 0}}), HostError) << p;
    EXPECT_THROW(write_guest_files(img_, {{p, 0755, 0, 0}}, {}), HostError) << p;
    EXPECT_THROW(read_guest_file(img_, p), HostError) << p;
  }
  // A good file first: nothing is written when a later entry is refused.
  EXPECT_THROW(write_guest_files(img_, {}, {{"/etc/ok", "x", 0644, 0, 0}, {"/a/../b", "x", 0644, 0, 0}}), HostError);
  EXPECT_THROW(write_guest_files(img_, {}, {{"/etc/ok", "x", 0100644, 0, 0}}), HostError);
  EXPECT_TRUE(slurp(img_) == before);
}

TEST_P(Ext4Files, RefusesAJournalThatNeedsRecoveryWithoutTouchingIt) {
  EXPECT_FALSE(needs_journal_recovery(img_));
  ASSERT_EQ(debugfs("feature needs_recovery", true).status, 0);
  EXPECT_TRUE(needs_journal_recovery(img_));
  std::string before = slurp(img_);
  try {
    write_guest_files(img_, {}, {{"/etc/hostname", "web\n", 0644, 0, 0}});
    ADD_FAILURE() << "accepted";
  } catch (const JournalNeedsRecovery& e) {
    EXPECT_NE(std::string(e.what()).find(img_), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("e2fsck"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(slurp(img_) == before);
}

// mke2fs picks 1 KiB blocks for 32 MiB; real root filesystems have 4 KiB.
INSTANTIATE_TEST_SUITE_P(Mke2fs, Ext4Files, ::testing::Values("", "-O ^has_journal", "-b 4096"),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "WithJournal" : info.index == 1 ? "NoJournal" : "Blocks4k");
                         });

TEST(Ext4FilesNotExt, RefusesZerosAndVfatWithoutTouchingThem) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string zeros = dir.path() + "/zeros.img", vfat = dir.path() + "/vfat.img", tiny = dir.path() + "/tiny.img";
  ASSERT_EQ(run("truncate -s 8M " + zeros + " && truncate -s 8M " + vfat + " && mkfs.fat " + vfat + " && truncate -s 100 " + tiny).status, 0);
  for (const std::string& img : {zeros, vfat, tiny}) {
    std::string before = slurp(img);
    EXPECT_FALSE(is_ext_filesystem(img)) << img;
    try {
      write_guest_files(img, {}, {{"/etc/hostname", "web\n", 0644, 0, 0}});
      ADD_FAILURE() << img << " accepted";
    } catch (const HostError& e) {
      EXPECT_EQ(e.code(), ErrorCode::Invalid) << e.what();
      EXPECT_NE(std::string(e.what()).find(img), std::string::npos) << e.what();
    }
    EXPECT_THROW(needs_journal_recovery(img), HostError);
    EXPECT_THROW(read_guest_file(img, "/etc/passwd"), HostError);
    EXPECT_TRUE(slurp(img) == before) << img;
  }
  EXPECT_THROW(is_ext_filesystem(dir.path() + "/missing"), HostError);
}

}  // namespace
}  // namespace banger
