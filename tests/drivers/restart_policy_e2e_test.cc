// restartPolicy with the real banger binary and the strict fake Firecracker:
// a VM whose process is killed, or exits cleanly (the fake exits 0 after
// SendCtrlAltDel, as Firecracker does when the guest reboots), or crashes
// at once again and again.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "host_e2e.h"

using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::sh;
using banger::test::TempDir;

namespace {

using namespace std::chrono_literals;

class RestartPolicy : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 8 << 20);
  }
  void TearDown() override {
    unsetenv("FAKE_FIRECRACKER_EXIT_AFTER_START");
    HostE2E::TearDown();
  }

  void write(const std::string& policy) {
    std::ostringstream m;
    m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: rp}\nspec: {subnet: 10.81.0.0/24}\n"
      << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir_->path()
      << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: "
      << dir_->path() << "/rootfs.ext4}\n---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: vm}\n"
      << "spec: {kernel: k, image: img, network: rp, memory: 128Mi, runtime: firecracker, diskStrategy: copy, "
      << "restartPolicy: " << policy << "}\n";
    dir_->write("m/vm.yaml", m.str());
  }

  CommandResult apply() { return banger({"apply", "-f", dir_->path() + "/m"}); }
  CommandResult diff() { return banger({"diff", "-f", dir_->path() + "/m"}); }

  nlohmann::json status() { return banger::test::vm_status_in(dir_->path(), "vm"); }
  int pid() {
    std::string p = status()["PID"];
    return p == "-" ? 0 : std::stoi(p);
  }
  // Waits until the VM's process is gone and its reaper wrote how it ended.
  void wait_exited() {
    for (int i = 0; i < 100 && status()["STATE"] == "Running"; ++i) std::this_thread::sleep_for(50ms);
    for (int i = 0; i < 100 && !std::filesystem::exists(dir_->path() + "/run/vms/vm/exit-status"); ++i) {
      std::this_thread::sleep_for(20ms);
    }
  }
  void kill_vm() {
    int p = pid();
    ASSERT_GT(p, 0);
    ASSERT_EQ(kill(p, SIGKILL), 0);
    wait_exited();
  }
  void ctrl_alt_del() {
    auto r = sh("curl -sS --unix-socket " + dir_->path() +
                "/run/vms/vm/firecracker.sock -X PUT http://localhost/actions "
                "-H 'Content-Type: application/json' -d '{\"action_type\": \"SendCtrlAltDel\"}'");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    wait_exited();
  }
};

TEST_F(RestartPolicy, AlwaysRestartsAKilledVmAndCountsIt) {
  write("always");
  ASSERT_EQ(apply().exit_code, 0);
  int first = pid();
  kill_vm();
  auto st = status();
  EXPECT_EQ(st["STATE"], "Exited");
  EXPECT_EQ(st["LAST-EXIT"], "killed by signal 9");
  std::this_thread::sleep_for(1100ms);  // the first back-off, 1 s
  auto d = diff();
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("process killed by signal 9; restart 1 in a row"), std::string::npos) << d.out;
  auto a = apply();
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  st = status();
  EXPECT_EQ(st["STATE"], "Running");
  EXPECT_EQ(st["RESTARTS"], "1");
  EXPECT_EQ(st["LAST-EXIT"], "killed by signal 9");
  EXPECT_NE(pid(), first);
  EXPECT_EQ(diff().exit_code, 0);
}

TEST_F(RestartPolicy, AlwaysRestartsAfterACleanExitToo) {
  write("always");
  ASSERT_EQ(apply().exit_code, 0);
  ctrl_alt_del();
  EXPECT_EQ(status()["LAST-EXIT"], "exited 0");
  auto d = diff();
  EXPECT_EQ(d.exit_code, 2) << d.out;
}

TEST_F(RestartPolicy, NeverLeavesItDownAndDiffIsClean) {
  write("never");
  ASSERT_EQ(apply().exit_code, 0);
  kill_vm();
  auto d = diff();
  EXPECT_EQ(d.exit_code, 0) << d.out;
  auto a = apply();
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_NE(a.out.find("No changes"), std::string::npos) << a.out;
  auto st = status();
  EXPECT_EQ(st["STATE"], "Exited");
  EXPECT_EQ(st["RESTARTS"], "0");
  EXPECT_EQ(st["LAST-EXIT"], "killed by signal 9");
  EXPECT_EQ(st["READY"], "false");
}

TEST_F(RestartPolicy, OnFailureLeavesACleanExitDownButRestartsACrash) {
  write("on-failure");
  ASSERT_EQ(apply().exit_code, 0);
  ctrl_alt_del();
  EXPECT_EQ(diff().exit_code, 0) << "a clean exit is not a failure";
  EXPECT_EQ(status()["LAST-EXIT"], "exited 0");
  // A spec change starts it again; a crash then is restarted.
  write("always");
  ASSERT_EQ(apply().exit_code, 0);
  write("on-failure");
  ASSERT_EQ(apply().exit_code, 0);
  ASSERT_EQ(status()["STATE"], "Running");
  kill_vm();
  std::this_thread::sleep_for(2100ms);
  EXPECT_EQ(diff().exit_code, 2);
  ASSERT_EQ(apply().exit_code, 0);
  EXPECT_EQ(status()["STATE"], "Running");
}

TEST_F(RestartPolicy, AVmThatCrashesAgainAndAgainShowsCrashLoopBackOff) {
  setenv("FAKE_FIRECRACKER_EXIT_AFTER_START", "200", 1);
  write("always");
  ASSERT_EQ(apply().exit_code, 0);
  wait_exited();
  EXPECT_EQ(status()["STATE"], "Exited");  // one crash is not a loop yet
  EXPECT_EQ(status()["LAST-EXIT"], "exited 1");
  ASSERT_EQ(apply().exit_code, 0);  // a person's apply restarts at once
  wait_exited();
  auto st = status();
  EXPECT_EQ(st["STATE"], "CrashLoopBackOff");
  EXPECT_EQ(st["RESTARTS"], "1");
  ASSERT_EQ(apply().exit_code, 0);
  wait_exited();
  EXPECT_EQ(status()["RESTARTS"], "2");
  EXPECT_EQ(status()["STATE"], "CrashLoopBackOff");
}

}  // namespace
