// Reading without root: a member of the group banger runs get, logs, diff and
// state export against what root applied, and is refused everything that
// changes the host; a user outside the group reads nothing. The group lives
// only in this test: each banger runs in its own mount namespace where a
// copy of /etc/group with a `banger` line is bound over the host's.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "host_e2e.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_command;

namespace {

constexpr unsigned kGid = 64123;     // the test's group banger
constexpr unsigned kMember = 64124;  // a user in it
constexpr unsigned kOther = 64125;   // a user outside it

struct Mode {
  unsigned mode = 0, gid = 0;
  bool exists = false;
};

Mode mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  return {static_cast<unsigned>(st.st_mode & 07777), static_cast<unsigned>(st.st_gid), true};
}

std::string octal(unsigned m) {
  std::ostringstream s;
  s << std::oct << m;
  return s.str();
}

class ReaderAccess : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    for (const char* tool : {"unshare", "setpriv"}) {
      if (run_command({"/bin/sh", "-c", std::string("command -v ") + tool}).exit_code != 0)
        GTEST_SKIP() << tool << " is missing (util-linux)";
    }
    std::ifstream in("/etc/group");
    std::stringstream groups;
    groups << in.rdbuf();
    dir_->write("group", groups.str() + "banger:x:" + std::to_string(kGid) + ":\n");
    sparse_file("rootfs.ext4", 16 << 20);
    write_manifests("1");
  }

  void write_manifests(const std::string& vcpus) {
    const std::string d = root();
    dir_->write("m/fleet.yaml",
                "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: rd}\nspec: {subnet: 10.78.0.0/24}\n"
                "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " + d +
                "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " + d +
                "/rootfs.ext4}\n---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: a}\n"
                "spec: {kernel: k, image: img, network: rd, runtime: firecracker, diskStrategy: copy, vcpus: " +
                vcpus + "}\n---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: a-http}\n"
                "spec: {vm: a, hostPort: 18090, guestPort: 80}\n");
  }

  // banger ARGS in a mount namespace that has the group; as root when
  // `uid` is 0, else as that user (in the group when `member`).
  CommandResult as(unsigned uid, bool member, const std::vector<std::string>& args) {
    std::string cmd = "mount --bind " + root() + "/group /etc/group && exec ";
    if (uid != 0) {
      cmd += "setpriv --reuid " + std::to_string(uid) + " --regid " + std::to_string(uid) +
             (member ? " --groups " + std::to_string(kGid) : std::string(" --clear-groups")) + " ";
    }
    cmd += BANGER_BIN;
    for (const std::string& a : args) cmd += " '" + a + "'";
    cmd += " --state-dir " + root() + "/state --run-dir " + root() + "/run";
    const std::string& c = args[0];
    if (c == "apply" || c == "delete" || c == "diff" || c == "state") cmd += " --firecracker " FAKE_FIRECRACKER_BIN;
    return run_command({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", cmd}, "", 120);
  }
  CommandResult root_banger(const std::vector<std::string>& args) { return as(0, false, args); }
  CommandResult member(const std::vector<std::string>& args) { return as(kMember, true, args); }
  CommandResult other(const std::vector<std::string>& args) { return as(kOther, false, args); }
};

TEST_F(ReaderAccess, MembersReadWithoutRootOthersDoNotAndNeitherChangesTheHost) {
  auto applied = root_banger({"apply", "-f", manifest_dir(), "--stop-timeout", "2s"});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;

  // The two gates are root:banger 02750; inside, the group gets only what
  // reading needs, and the VM's disk stays root's.
  struct Want {
    std::string path;
    unsigned mode;
    bool group;
  };
  const std::string s = root() + "/state", r = root() + "/run";
  for (const Want& w : std::vector<Want>{{s, 02750, true},
                                         {s + "/state.db", 0640, true},
                                         {s + "/state.db-wal", 0640, true},
                                         {s + "/state.db-shm", 0640, true},
                                         {r + "/vms", 02750, true},
                                         {r + "/vms/a", 02710, true},
                                         {r + "/vms/a/console.log", 0640, true},
                                         {s + "/vms/a", 02750, true},
                                         {s + "/vms/a/disk.img", 0600, false}}) {
    Mode m = mode_of(w.path);
    ASSERT_TRUE(m.exists) << w.path;
    EXPECT_EQ(octal(m.mode), octal(w.mode)) << w.path;
    if (w.group) {
      EXPECT_EQ(m.gid, kGid) << w.path;
    }
  }
  // The API socket is the VM's whole control: nobody but root may connect.
  for (const auto& e : fs::directory_iterator(r + "/vms/a")) {
    if (e.is_socket()) {
      EXPECT_EQ(mode_of(e.path()).mode & 077, 0u) << e.path() << " " << octal(mode_of(e.path()).mode);
    }
  }

  // A member reads.
  auto got = member({"get", "vm", "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto items = nlohmann::json::parse(got.out)["items"];
  ASSERT_EQ(items.size(), 1u) << got.out;
  EXPECT_EQ(items[0]["status"]["STATE"], "Running") << got.out;
  auto table = member({"get"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("a-http"), std::string::npos) << table.out;
  auto logs = member({"logs", "a"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  auto same = member({"diff", "-f", manifest_dir()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.err.find("nftables"), std::string::npos) << "the reader is told NAT rules went unchecked: " << same.err;
  auto exported = member({"state", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto doc = nlohmann::json::parse(exported.out);
  EXPECT_EQ(doc["host"]["nat"]["observed"], false);
  EXPECT_EQ(doc["host"]["running"], nlohmann::json::array({"a"})) << doc["host"]["running"];
  // The member's export judges as root's live diff does.
  dir_->write("member-export.json", exported.out);
  auto offline = member({"diff", "-f", manifest_dir(), "--against", root() + "/member-export.json"});
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;

  // A change in the manifests: the member sees it, cannot make it.
  write_manifests("2");
  auto pending = member({"diff", "-f", manifest_dir()});
  EXPECT_EQ(pending.exit_code, 2) << pending.out << pending.err;
  EXPECT_NE(pending.out.find("VM/a"), std::string::npos) << pending.out;
  for (const auto& args : std::vector<std::vector<std::string>>{{"apply", "-f", manifest_dir()},
                                                                 {"delete", "vm", "a"},
                                                                 {"gc"},
                                                                 {"watch", manifest_dir()}}) {
    auto refused = member(args);
    EXPECT_EQ(refused.exit_code, 1) << args[0] << ": " << refused.out << refused.err;
    EXPECT_NE(refused.err.find("sudo"), std::string::npos) << args[0] << ": " << refused.err;
  }
  auto still = root_banger({"get", "vm", "a", "-o", "json"});
  ASSERT_EQ(still.exit_code, 0) << still.err;
  EXPECT_EQ(nlohmann::json::parse(still.out)["items"][0]["status"]["STATE"], "Running");
  EXPECT_EQ(root_banger({"diff", "-f", manifest_dir()}).exit_code, 2) << "the member's apply changed nothing";

  // Outside the group: nothing to read, and the reason says what to do.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"get"}, {"logs", "a"}, {"diff", "-f", manifest_dir()}, {"state", "export"}}) {
    auto refused = other(args);
    EXPECT_EQ(refused.exit_code, 1) << args[0] << ": " << refused.out << refused.err;
    EXPECT_NE(refused.err.find("group banger"), std::string::npos) << args[0] << ": " << refused.err;
    EXPECT_EQ(refused.out.find("a-http"), std::string::npos) << args[0] << ": " << refused.out;
  }

  auto gone = root_banger({"delete", "-f", manifest_dir(), "--stop-timeout", "2s"});
  EXPECT_EQ(gone.exit_code, 0) << gone.out << gone.err;
}

// A reader on a host where nothing was applied: an empty state, made by
// nobody (no state dir appears), and a diff that would create everything.
TEST_F(ReaderAccess, AMemberOnAFreshHostSeesNothingAndMakesNoStateDir) {
  auto got = member({"get"});
  EXPECT_EQ(got.exit_code, 0) << got.out << got.err;
  auto pending = member({"diff", "-f", manifest_dir()});
  EXPECT_EQ(pending.exit_code, 2) << pending.out << pending.err;
  EXPECT_NE(pending.out.find("+ VM/a"), std::string::npos) << pending.out;
  EXPECT_FALSE(fs::exists(root() + "/state"));
}

}  // namespace
