// A full disk under the state dir: the state dir is a small tmpfs the test
// mounts (and unmounts, also when it fails). A disk copy or a SQLite write
// that meets ENOSPC fails the run with an error that says so; the database
// stays consistent (PRAGMA integrity_check), readers keep working, and once
// there is room the next apply converges.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "host_e2e.h"

namespace {

using banger::test::sh;

class FullDisk : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    // Data that is nowhere zero: a sparse copy would take no room.
    ASSERT_EQ(sh("head -c 8M /dev/urandom > " + root() + "/rootfs.ext4").exit_code, 0);
    ASSERT_EQ(sh("mkdir -p " + state() + " && mount -t tmpfs -o size=4m,mode=0700 tmpfs " + state()).exit_code, 0);
    mounted_ = true;
    dir_->write("m/fleet.yaml", fleet("128Mi"));
  }
  void TearDown() override {
    if (mounted_) sh("mount -o remount,size=64m " + state() + "; rm -f " + state() + "/filler");
    HostE2E::TearDown();
    if (mounted_) sh("umount -l " + state());
  }

  std::string state() const { return root() + "/state"; }
  std::string fleet(const std::string& memory) const {
    return "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: full}\nspec: {subnet: 10.82.0.0/24}\n"
           "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " +
           root() + "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " +
           root() + "/rootfs.ext4}\n---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: f-1}\n"
           "spec: {kernel: k, image: img, network: full, runtime: firecracker, diskStrategy: copy, memory: " +
           memory + "}\n";
  }
  std::string integrity() const {
    auto r = sh("python3 -c \"import sqlite3; print(sqlite3.connect('" + state() +
                "/state.db').execute('pragma integrity_check').fetchone()[0])\"");
    return r.out + r.err;
  }
  void expect_converges_with_room(const std::string& when) {
    ASSERT_EQ(sh("rm -f " + state() + "/filler && mount -o remount,size=64m " + state()).exit_code, 0);
    auto a = banger({"apply", "-f", manifest_dir()});
    EXPECT_EQ(a.exit_code, 0) << when << ":\n" << a.out << a.err;
    EXPECT_EQ(banger({"diff", "-f", manifest_dir()}).exit_code, 0) << when;
    auto del = banger({"delete", "-f", manifest_dir()});
    EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
    EXPECT_EQ(sh("ip -o link | grep -c bg-").out, "0\n") << when;
  }

  bool mounted_ = false;
};

// The VM's disk (8 MiB) does not fit in 4 MiB.
TEST_F(FullDisk, ADiskCopyThatMeetsENOSPCFailsTheVmAndTheNextApplyConverges) {
  auto a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE((a.out + a.err).find("No space left on device"), std::string::npos) << a.out << a.err;
  EXPECT_EQ(integrity(), "ok\n");
  auto g = banger({"get", "vm", "-o", "json"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_TRUE(nlohmann::json::parse(g.out, nullptr, false).is_object()) << g.out;
  expect_converges_with_room("after a disk copy met a full disk");
}

// Converged with room, then the tmpfs is filled to leave `slack` bytes and
// the fleet changed: SQLite's own writes (the -shm index at open, the
// journal entry, WAL growth, a COMMIT) meet ENOSPC at a point that depends
// on the slack. Whatever the point: an error that says the disk is full (or
// success, when the slack was enough), never a crash; the database passes
// integrity_check; and with room again the next apply converges.
TEST_F(FullDisk, AStoreWriteOnAFullDiskIsAnErrorAndTheDatabaseStaysConsistent) {
  for (int slack_kib : {0, 24, 48, 96, 192}) {
    const std::string when = "with " + std::to_string(slack_kib) + " KiB left";
    dir_->write("m/fleet.yaml", fleet("128Mi"));
    ASSERT_EQ(sh("mount -o remount,size=64m " + state()).exit_code, 0);
    auto first = banger({"apply", "-f", manifest_dir()});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    ASSERT_EQ(sh("mount -o remount,size=16m " + state() + " && (dd if=/dev/zero of=" + state() +
                 "/filler bs=4k 2>/dev/null; true) && truncate -s -" + std::to_string(slack_kib) + "K " + state() +
                 "/filler")
                  .exit_code,
              0);
    dir_->write("m/fleet.yaml", fleet("256Mi"));
    auto a = banger({"apply", "-f", manifest_dir()});
    std::cout << when << ": apply exit " << a.exit_code << "; " << a.err.substr(0, a.err.find('\n')) << "\n";
    EXPECT_EQ(a.signal, 0) << when << ": a full disk must be an error, not a crash:\n" << a.err;
    if (a.exit_code != 0) {
      EXPECT_NE((a.out + a.err).find("the filesystem is full; free space and retry"), std::string::npos)
          << when << ":\n" << a.out << a.err;
    }
    // A reader needs room for SQLite's shared-memory index (-shm), which the
    // first opener sizes anew: with no room it cannot read, and must say why
    // rather than show an empty host.
    auto g = banger({"get", "vm", "-o", "json"});
    if (g.exit_code != 0) {
      EXPECT_NE(g.err.find("No space left on device); the filesystem is full; free space and retry"),
                std::string::npos)
          << when << ":\n" << g.err;
    } else {
      EXPECT_EQ(nlohmann::json::parse(g.out)["items"].size(), 1u) << when << ":\n" << g.out;
    }
    ASSERT_EQ(sh("rm -f " + state() + "/filler").exit_code, 0);
    EXPECT_EQ(integrity(), "ok\n") << when;
    expect_converges_with_room(when);
    if (HasFailure()) break;
  }
}

}  // namespace
