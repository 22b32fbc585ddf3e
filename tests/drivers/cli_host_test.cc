// banger's host commands in a private netns: doctor, the host lock, delete
// KIND NAME, get output formats, JSON plans, and failures that name their
// resource while the rest of the fleet converges.
#include <gtest/gtest.h>

#include <unistd.h>

#include <optional>

#include <fstream>
#include <algorithm>
#include <thread>
#include <nlohmann/json.hpp>

#include "drivers/kvm.h"
#include "host_e2e.h"
#include "reconciler/runtime_choice.h"
#include "state/host_lock.h"
#include "state/store.h"

using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::TempDir;

namespace {

class HostCli : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    dir_->write("rootfs.ext4", std::string(1 << 20, '\0'));
  }

  std::string fleet(const std::string& a_fields = ", diskStrategy: copy") {
    const std::string& d = dir_->path();
    return "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " + d +
           "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\nspec: {path: " + d +
           "/rootfs.ext4}\n---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: a}\n"
           "spec: {kernel: k, image: i, runtime: firecracker" + a_fields + "}\n"
           "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: b}\n"
           "spec: {kernel: k, image: i, diskStrategy: copy}\n";
  }

  // Every command here, doctor and get included, with --firecracker unless
  // with_fc is false (the base's banger() adds it where banger plans VMs).
  CommandResult banger(std::vector<std::string> args, bool with_fc = true) {
    std::vector<std::string> argv{BANGER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--state-dir", dir_->path() + "/state", "--run-dir", dir_->path() + "/run"});
    if (with_fc) argv.insert(argv.end(), {"--firecracker", FAKE_FIRECRACKER_BIN});
    return run_command(argv, "", 120);
  }
};

TEST_F(HostCli, DoctorReportsEachCheck) {
  auto r = banger({"doctor"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* line : {"ok    root: running as root", "ok    tun:", "ok    netlink:", "ok    nftables:",
                           "ok    firecracker: " FAKE_FIRECRACKER_BIN, "state dir:"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  // No KVM, or a PVM one that boots no ordinary guest: a warning that says
  // why and that QEMU uses TCG, and the runtime auto makes.
  banger::KvmVerdict kvm = banger::judge_kvm(banger::probe_kvm());
  if (!kvm.usable) {
    EXPECT_NE(r.out.find("warn  kvm: " + kvm.why + "; QEMU will use TCG"), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("ok    runtime: auto runs VMs as "), std::string::npos) << r.out;
  auto accel_kvm = banger({"doctor", "--accel", "kvm"});
  if (!kvm.usable) {
    EXPECT_EQ(accel_kvm.exit_code, 1) << accel_kvm.out;
    EXPECT_NE(accel_kvm.out.find("fail  runtime: auto cannot run VMs: --accel kvm, but"), std::string::npos)
        << accel_kvm.out;
  }
  auto missing = run_command({BANGER_BIN, "doctor", "--firecracker", "/nonexistent/firecracker"});
  EXPECT_NE(missing.out.find("/nonexistent/firecracker"), std::string::npos) << missing.out;
}

// A damaged database: every command names it and points at doctor, and
// doctor says what starting afresh takes (banger forgets what it made).
TEST_F(HostCli, ADamagedStateDatabaseIsNamedAndDoctorSaysHowToStartAfresh) {
  const std::string state = dir_->path() + "/state";
  ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
  dir_->write("state/state.db", std::string(8192, 'G'));
  auto g = banger({"get", "vm"}, false);
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.err.find(state + "/state.db"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("banger doctor says how to start afresh"), std::string::npos) << g.err;
  auto d = banger({"doctor"}, false);
  EXPECT_EQ(d.exit_code, 1) << d.out;
  EXPECT_NE(d.out.find("fail  state db: "), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("then move " + state + "/state.db and its -wal and -shm files away"), std::string::npos)
      << d.out;
}

TEST_F(HostCli, SecondApplyFailsFastWithNoWaitWhileTheLockIsHeld) {
  dir_->write("m/fleet.yaml", fleet());
  banger::Store store(dir_->path() + "/state");
  banger::HostLock lock(dir_->path() + "/state", {.wait = false, .command = "banger apply"});
  auto r = banger({"apply", "-f", dir_->path() + "/m", "--no-wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/state/lock is held by pid " + std::to_string(::getpid()) + " (banger apply, started"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run_command({"/bin/sh", "-c", "ip -o link | grep -c bg-"}).out, "0\n") << "nothing may change";
}

// A run that waits says once who it waits for, then proceeds when the lock
// is free; with --lock-timeout it gives up instead, naming the holder.
TEST_F(HostCli, AWaitingApplySaysWhoHoldsTheLockAndHonoursLockTimeout) {
  dir_->write("m/fleet.yaml", fleet());
  banger::Store store(dir_->path() + "/state");
  std::optional<banger::HostLock> lock(std::in_place, dir_->path() + "/state",
                                       banger::HostLockOptions{.wait = false, .command = "banger apply"});
  auto timed = banger({"apply", "-f", dir_->path() + "/m", "--lock-timeout", "1s"});
  EXPECT_EQ(timed.exit_code, 1);
  EXPECT_NE(timed.err.find("gave up after 1s waiting for the host lock"), std::string::npos) << timed.err;
  EXPECT_EQ(run_command({"/bin/sh", "-c", "ip -o link | grep -c bg-"}).out, "0\n") << "nothing may change";

  CommandResult waited;
  std::thread run([&] { waited = banger({"apply", "-f", dir_->path() + "/m"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  lock.reset();
  run.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.out << waited.err;
  const std::string says = "waiting for the host lock held by pid " + std::to_string(::getpid()) + " (banger apply";
  size_t first = waited.err.find(says);
  EXPECT_NE(first, std::string::npos) << waited.err;
  EXPECT_EQ(waited.err.find(says, first + 1), std::string::npos) << "said more than once:\n" << waited.err;
}

// A runtime that cannot run here is refused by the plan: apply exits 1 and
// makes nothing (no bridge, no nft table, no records), with the fix named.
TEST_F(HostCli, ARuntimeThatCannotRunIsRefusedBeforeAnythingChanges) {
  dir_->write("m/fleet.yaml", fleet());  // VM a: runtime: firecracker
  auto nothing_made = [&] {
    EXPECT_EQ(run_command({"/bin/sh", "-c", "ip -o link | grep -c bg-"}).out, "0\n") << "no link may be made";
    EXPECT_NE(run_command({"/usr/sbin/nft", "list", "table", "ip", "banger"}).exit_code, 0) << "no nft table";
    auto g = banger({"get", "vm", "-o", "json"}, false);
    EXPECT_EQ(nlohmann::json::parse(g.out)["items"].size(), 0u) << g.out;
  };
  // No Firecracker binary anywhere (PATH of this test has none).
  const std::vector<std::string> no_fc{"/usr/bin/env", "-u", "BANGER_FIRECRACKER_BIN", "-u", "BANGER_ACCEL",
                                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  auto with_env = [&](std::vector<std::string> env, std::vector<std::string> args) {
    env.push_back(BANGER_BIN);
    env.insert(env.end(), args.begin(), args.end());
    env.insert(env.end(), {"--state-dir", dir_->path() + "/state", "--run-dir", dir_->path() + "/run"});
    return run_command(env, "", 120);
  };
  auto diff = with_env(no_fc, {"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(diff.exit_code, 1) << diff.out << diff.err;
  EXPECT_NE(diff.err.find("VM/a: firecracker binary not found"), std::string::npos) << diff.err;
  auto apply = with_env(no_fc, {"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE(apply.err.find("set runtime: qemu (or auto)"), std::string::npos) << apply.err;
  // VM b (runtime auto) gets QEMU, and the plan says so.
  EXPECT_NE(apply.out.find("runtime qemu/"), std::string::npos) << apply.out;
  nothing_made();

  // --accel kvm where KVM cannot boot an ordinary guest (this machine: no
  // /dev/kvm, or a PVM one); the same through BANGER_ACCEL.
  if (!banger::judge_kvm(banger::probe_kvm()).usable) {
    std::string qemu = fleet();
    qemu.replace(qemu.find("runtime: firecracker"), 20, "runtime: qemu");
    dir_->write("m/fleet.yaml", qemu);
    for (auto [env, how] : {std::pair{std::vector<std::string>{"/usr/bin/env"}, std::string("--accel")},
                            std::pair{std::vector<std::string>{"/usr/bin/env", "BANGER_ACCEL=kvm"}, std::string("BANGER_ACCEL")}}) {
      std::vector<std::string> args{"apply", "-f", dir_->path() + "/m", "--firecracker", FAKE_FIRECRACKER_BIN};
      if (how == "--accel") args.insert(args.end(), {"--accel", "kvm"});
      auto r = with_env(env, args);
      EXPECT_EQ(r.exit_code, 1) << how << r.out << r.err;
      EXPECT_NE(r.err.find(how + " kvm, but /dev/kvm"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("use --accel tcg or auto"), std::string::npos) << r.err;
      nothing_made();
    }
  }
  auto bad = with_env({"/usr/bin/env", "BANGER_ACCEL=hvf"}, {"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("BANGER_ACCEL=hvf is not one of kvm, tcg, auto"), std::string::npos) << bad.err;
  auto flag = banger({"diff", "-f", dir_->path() + "/m", "--accel", "hvf"});
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_EQ(flag.exit_code == 2, false) << "a bad --accel is an error, not a plan";
}

// --accel tcg: every VM under QEMU without KVM, even with Firecracker named;
// get -o wide shows it and doctor says what auto makes.
TEST_F(HostCli, AccelTcgRunsQemuWithSoftwareEmulationAndSaysSo) {
  std::string f = fleet();
  f.replace(f.find("runtime: firecracker"), 20, "runtime: auto");
  dir_->write("m/fleet.yaml", f);
  auto diff = banger({"diff", "-f", dir_->path() + "/m", "--accel", "tcg"});
  EXPECT_EQ(diff.exit_code, 2) << diff.out << diff.err;
  EXPECT_NE(diff.out.find("runtime qemu/tcg (auto: --accel tcg)"), std::string::npos) << diff.out;
  auto doctor = run_command({"/usr/bin/env", "BANGER_ACCEL=tcg", BANGER_BIN, "doctor", "--state-dir",
                             dir_->path() + "/state"});
  EXPECT_NE(doctor.out.find("ok    runtime: auto runs VMs as qemu/tcg (auto: BANGER_ACCEL tcg)"), std::string::npos)
      << doctor.out;
}

TEST_F(HostCli, AFailingVmFailsAloneAndNamesItself) {
  dir_->write("m/fleet.yaml", fleet(", diskStrategy: copy, diskSize: 512Ki"));
  auto v = banger({"validate", "-f", dir_->path() + "/m"}, false);
  EXPECT_EQ(v.exit_code, 1) << "diskSize below 1Mi is refused before the host is touched";

  dir_->write("m/fleet.yaml", fleet(", diskStrategy: reflink"));
  auto r = banger({"apply", "-f", dir_->path() + "/m"});
  // tmpfs/ext4 cannot reflink: VM a fails, VM b still comes up.
  if (r.exit_code == 0) GTEST_SKIP() << "the temp filesystem supports reflink";
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("VM/a: failed:"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("VM/b: "), std::string::npos) << r.out;
  auto g = banger({"get", "vm", "b", "-o", "json"}, false);
  EXPECT_EQ(nlohmann::json::parse(g.out)["items"][0]["status"]["STATE"], "Running") << g.out;
  auto d = banger({"delete", "-f", dir_->path() + "/m", "--ignore-not-found"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
}

TEST_F(HostCli, DeleteByKindAndNameGetFormatsAndJsonPlan) {
  dir_->write("m/fleet.yaml", fleet());
  auto plan = banger({"diff", "-f", dir_->path() + "/m", "-o", "json"});
  EXPECT_EQ(plan.exit_code, 2);
  auto j = nlohmann::json::parse(plan.out);
  EXPECT_EQ(j["summary"]["create"], 5);  // default network, kernel, image, 2 VMs
  EXPECT_EQ(j["changes"][0]["kind"], "Network");
  EXPECT_EQ(j["changes"][0]["name"], "default");

  ASSERT_EQ(banger({"apply", "-f", dir_->path() + "/m", "-q"}).exit_code, 0);
  auto wide = banger({"get", "vms", "-o", "wide"}, false);
  EXPECT_EQ(wide.exit_code, 0);
  for (const char* col : {"NAME", "STATE", "IP", "VCPUS", "MEMORY", "AGE", "TAP", "PID", "DISK"}) {
    EXPECT_NE(wide.out.find(col), std::string::npos) << col << "\n" << wide.out;
  }
  EXPECT_NE(wide.out.find("172.20.0.2"), std::string::npos) << wide.out;
  auto yaml = banger({"get", "vm", "a", "-o", "yaml"}, false);
  EXPECT_NE(yaml.out.find("kind: \"VM\""), std::string::npos) << yaml.out;

  // logs: the fake writes "Guest booted (fake)" to its stdout, which is the console log.
  auto logs = banger({"logs", "a"}, false);
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("Guest booted (fake)\n"), std::string::npos) << logs.out;
  auto tail = banger({"logs", "a", "--tail", "2"}, false);
  EXPECT_EQ(std::count(tail.out.begin(), tail.out.end(), '\n'), 2) << tail.out;
  EXPECT_EQ(logs.out.substr(logs.out.size() - tail.out.size()), tail.out) << "the last lines";
  EXPECT_EQ(banger({"logs", "nope"}, false).exit_code, 1);

  // -f follows until the VM stops, as kubectl logs -f ends with its container.
  CommandResult follow;
  std::thread follower([&] { follow = banger({"logs", "a", "-f"}, false); });
  usleep(500000);
  auto del = banger({"delete", "vm", "a"});
  follower.join();
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_NE(follow.out.find("Guest booted (fake)"), std::string::npos) << follow.out;
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(banger({"get", "vm", "a"}, false).exit_code, 1);
  EXPECT_EQ(banger({"get", "vm", "b"}, false).exit_code, 0);
  auto again = banger({"delete", "vm", "a"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("VM/a not found"), std::string::npos) << again.err;
  EXPECT_EQ(banger({"delete", "vm", "a", "--ignore-not-found"}).exit_code, 0);
  EXPECT_EQ(banger({"delete", "-f", dir_->path() + "/m", "--ignore-not-found"}).exit_code, 0);
  EXPECT_EQ(run_command({"/bin/sh", "-c", "ip -o link | grep -c bg-"}).out, "0\n");
}

}  // namespace
