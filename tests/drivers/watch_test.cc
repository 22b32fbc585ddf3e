// `banger watch DIR` end to end, inside this process's private network
// namespace: the real banger binary runs as a child with temp state and run
// dirs and the strict fake Firecracker, and the tests drive it the way a
// GitOps host is driven: by writing files, `git checkout`, signals, and by
// breaking things behind its back. The watcher is stopped and everything it
// made is deleted when a test ends, also when it fails.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "host_e2e.h"
#include "watcher_process.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::sh;
using namespace std::chrono_literals;

namespace {

std::string vm_yaml(const std::string& name, const std::string& memory, const std::string& network = "w",
                    const std::string& kernel = "k", const std::string& image = "img") {
  return "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " + name + "}\nspec: {kernel: " + kernel +
         ", image: " + image + ", network: " + network + ", memory: " + memory +
         ", runtime: firecracker, diskStrategy: copy}\n";
}

// The shared host fixture (host_e2e.h), with a watcher on ROOT/gitops.
class WatchTest : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 4 * 1024 * 1024);
    gitops_ = root() + "/gitops";
    fs::create_directories(gitops_);
  }

  // The watcher first, so it cannot start again what is being deleted; then
  // everything applied, also what the files no longer name.
  void TearDown() override {
    if (!dir_) return;
    stop_watcher();
    delete_everything();
    if (HasFailure()) std::cerr << "--- watcher log ---\n" << log() << "-------------------\n";
    HostE2E::TearDown();
  }

  std::string base_yaml() const {
    return "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: w}\nspec: {subnet: 10.78.0.0/24}\n"
           "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " +
           root() + "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\n"
           "spec: {path: " + root() + "/rootfs.ext4}\n";
  }

  // Writes DIR/name the way editors and git do: a temp file renamed over it.
  void put(const std::string& name, const std::string& text) {
    fs::path p = fs::path(gitops_) / name;
    fs::create_directories(p.parent_path());
    std::string tmp = (p.parent_path() / ".tmp-write").string();
    std::ofstream(tmp) << text;
    fs::rename(tmp, p);
  }

  std::vector<std::string> host_args() const {
    return {"--state-dir", root() + "/state", "--run-dir", root() + "/run",
            "--firecracker", FAKE_FIRECRACKER_BIN, "--stop-timeout", "2s"};
  }

  void start_watcher(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{BANGER_BIN, "watch", gitops_};
    if (std::find(extra.begin(), extra.end(), "--resync") == extra.end()) argv.insert(argv.end(), {"--resync", "2s"});
    for (const auto& a : host_args()) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(watcher_.start(argv, root() + "/watch.log"));
  }

  // SIGTERM, then SIGKILL after 10 s; returns the exit status (-1 when killed).
  int stop_watcher() { return watcher_.stop(); }

  void delete_everything() {
    auto g = banger({"get", "-o", "json"});
    if (g.exit_code != 0) return;
    auto items = nlohmann::json::parse(g.out, nullptr, false);
    if (!items.is_object()) return;
    for (const char* kind : {"PortForward", "VM", "Image", "Kernel", "Network"}) {
      for (const auto& it : items["items"]) {
        if (it["kind"] == kind) banger({"delete", kind, it["metadata"]["name"], "--ignore-not-found"});
      }
    }
  }

  std::string log() const { return watcher_.log(); }

  // The VM's pid when its recorded process runs, else 0.
  int vm_pid(const std::string& name) {
    auto r = banger({"get", "vm", name, "-o", "json"});
    if (r.exit_code != 0) return 0;
    auto st = nlohmann::json::parse(r.out)["items"][0]["status"];
    if (st["STATE"] != "Running") return 0;
    int pid = std::stoi(std::string(st["PID"]));
    return banger::test::process_alive(pid) ? pid : 0;
  }

  std::string vm_field(const std::string& name, const std::string& field) {
    auto r = banger({"get", "vm", name, "-o", "json"});
    if (r.exit_code != 0) return "";
    return nlohmann::json::parse(r.out)["items"][0]["spec"].value(field, "");
  }

  bool exists(const std::string& kind, const std::string& name) {
    return banger({"get", kind, name}).exit_code == 0;
  }

  // Polls `what` every 50 ms for up to `limit`; true when it held.
  template <class F>
  bool eventually(F what, std::chrono::milliseconds limit = 15s) {
    for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
      if (what()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return what();
  }

  bool log_has(const std::string& text) const { return log().find(text) != std::string::npos; }

  // Starts the watcher on DIR as written and waits until `vms` run.
  void start_and_converge(const std::vector<std::string>& vms, std::vector<std::string> extra = {}) {
    start_watcher(extra);
    for (const auto& vm : vms) ASSERT_TRUE(eventually([&] { return vm_pid(vm) > 0; })) << vm << " never ran";
  }

  std::string gitops_;
  banger::test::WatcherProcess watcher_;
};

// A failure no retry can fix (here: runtime: firecracker under --accel tcg,
// ErrorCode Invalid) is logged in full once, is not retried with back-off,
// and comes back in full when a file changes.
TEST_F(WatchTest, AFinalFailureIsReportedOnceAndNotRetriedUntilAFileChanges) {
  put("base.yaml", base_yaml());
  put("vms/web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_watcher({"--accel", "tcg", "--resync", "1s"});
  const std::string failed = "VM/web-1: failed: runtime: firecracker needs KVM, but --accel tcg turns it off";
  auto count = [&](const std::string& what) {
    size_t n = 0;
    const std::string l = log();
    for (size_t at = l.find(what); at != std::string::npos; at = l.find(what, at + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return count(failed) == 1; })) << log();
  std::this_thread::sleep_for(3500ms);  // three resyncs or more
  EXPECT_EQ(count(failed), 1u) << "a final failure is reported once:\n" << log();
  EXPECT_EQ(count("+ VM/web-1"), 1u) << "its plan too:\n" << log();
  EXPECT_EQ(count("retry: "), 0u) << "a final failure is not retried with back-off:\n" << log();
  EXPECT_EQ(count("VM/web-1: failed: VM/web-1"), 0u) << "the line names the VM once:\n" << log();
  EXPECT_TRUE(exists("network", "w")) << "the rest converged";

  put("vms/web-1.yaml", vm_yaml("web-1", "256Mi"));
  EXPECT_TRUE(eventually([&] { return count(failed) == 2; }, 10s)) << "a file change shows it again:\n" << log();
}

TEST_F(WatchTest, AppliesAtStartThenANewFileRunsItsVm) {
  put("base.yaml", base_yaml());
  put("vms/web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"});
  // A new file in a new folder (mkdir -p, then the write).
  auto t0 = std::chrono::steady_clock::now();
  put("more/deep/web-2.yaml", vm_yaml("web-2", "128Mi"));
  ASSERT_TRUE(eventually([&] { return vm_pid("web-2") > 0; }, 5s)) << "web-2 never ran";
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "file write -> VM running (as seen by banger get): " << ms.count() << " ms\n";
  EXPECT_TRUE(log_has("files changed: Plan: 1 to create")) << log();
  EXPECT_TRUE(log_has("VM/web-2: tap")) << log();
}

TEST_F(WatchTest, EditUpdatesAndRemovalPrunes) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  put("web-2.yaml", vm_yaml("web-2", "128Mi"));
  start_and_converge({"web-1", "web-2"});
  int old = vm_pid("web-1");
  put("web-1.yaml", vm_yaml("web-1", "256Mi"));
  ASSERT_TRUE(eventually([&] { return vm_field("web-1", "memory") == "256Mi"; })) << log();
  EXPECT_TRUE(eventually([&] { int p = vm_pid("web-1"); return p > 0 && p != old; })) << "not restarted";
  EXPECT_TRUE(log_has("~ VM/web-1 (restart): memory: 128Mi -> 256Mi")) << log();

  int web2 = vm_pid("web-2");
  fs::remove(gitops_ + "/web-2.yaml");
  ASSERT_TRUE(eventually([&] { return !exists("vm", "web-2"); })) << log();
  EXPECT_TRUE(eventually([&] { return !banger::test::process_alive(web2); }));
  EXPECT_TRUE(log_has("- VM/web-2")) << log();
  EXPECT_GT(vm_pid("web-1"), 0);
}

TEST_F(WatchTest, GitCheckoutOfAnotherBranchConverges) {
  auto git = [&](const std::string& args) {
    auto r = sh("cd " + gitops_ + " && git -c user.name=t -c user.email=t@t " + args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
  };
  git("init -q -b blue");
  put("base.yaml", base_yaml());
  put("vms/web-1.yaml", vm_yaml("web-1", "128Mi"));
  put("vms/web-2.yaml", vm_yaml("web-2", "128Mi"));
  git("add -A && git -c user.name=t -c user.email=t@t commit -qm blue");
  git("checkout -q -b green");
  fs::remove(gitops_ + "/vms/web-1.yaml");
  put("vms/web-2.yaml", vm_yaml("web-2", "256Mi"));
  put("vms/web-3.yaml", vm_yaml("web-3", "128Mi"));
  git("add -A && git -c user.name=t -c user.email=t@t commit -qm green");
  git("checkout -q blue");

  start_and_converge({"web-1", "web-2"});
  EXPECT_FALSE(exists("vm", "web-3"));
  git("checkout -q green");
  ASSERT_TRUE(eventually([&] { return vm_pid("web-3") > 0; })) << log();
  EXPECT_TRUE(eventually([&] { return !exists("vm", "web-1"); })) << log();
  EXPECT_TRUE(eventually([&] { return vm_field("web-2", "memory") == "256Mi"; })) << log();
  EXPECT_FALSE(log_has(".git/")) << "git internals must not be watched:\n" << log();

  git("checkout -q blue");
  EXPECT_TRUE(eventually([&] { return vm_pid("web-1") > 0 && !exists("vm", "web-3"); })) << log();
  EXPECT_TRUE(eventually([&] { return vm_field("web-2", "memory") == "128Mi"; })) << log();
}

TEST_F(WatchTest, InvalidEditChangesNothingUntilFixed) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  put("web-2.yaml", vm_yaml("web-2", "128Mi"));
  start_and_converge({"web-1", "web-2"});
  int p1 = vm_pid("web-1"), p2 = vm_pid("web-2");

  // web-1's file goes, and web-2's gets a typo: nothing may be pruned.
  fs::remove(gitops_ + "/web-1.yaml");
  put("web-2.yaml", vm_yaml("web-2", "128Mi") + "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: web-9}\n"
                                               "spec: {kernel: k, image: img, vcpu: 2}\n");
  ASSERT_TRUE(eventually([&] { return log_has("does not validate (1 error)"); })) << log();
  EXPECT_TRUE(log_has("web-2.yaml:9:31: VM/web-9: spec.vcpu: unknown field")) << log();
  std::this_thread::sleep_for(2500ms);  // a resync passes too
  EXPECT_EQ(vm_pid("web-1"), p1) << "pruned or restarted while DIR was invalid";
  EXPECT_EQ(vm_pid("web-2"), p2);

  // Meanwhile the last good state keeps running: a crash is still repaired.
  ASSERT_EQ(kill(p2, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { int p = vm_pid("web-2"); return p > 0 && p != p2; })) << log();

  put("web-2.yaml", vm_yaml("web-2", "128Mi"));
  ASSERT_TRUE(eventually([&] { return !exists("vm", "web-1"); })) << log();
  EXPECT_FALSE(banger::test::process_alive(p1));
  EXPECT_GT(vm_pid("web-2"), 0);
}

TEST_F(WatchTest, EmptyDirPrunesOnlyWithAllowEmpty) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"});
  int p1 = vm_pid("web-1");
  fs::remove(gitops_ + "/web-1.yaml");
  fs::remove(gitops_ + "/base.yaml");
  ASSERT_TRUE(eventually([&] { return log_has("refusing to prune the 4 resources"); })) << log();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(vm_pid("web-1"), p1);
  EXPECT_TRUE(exists("network", "w"));

  ASSERT_EQ(stop_watcher(), 0);
  start_watcher({"--allow-empty"});
  ASSERT_TRUE(eventually([&] { return !exists("vm", "web-1") && !exists("network", "w"); })) << log();
  EXPECT_FALSE(banger::test::process_alive(p1));
}

// A host of a fleet (--node-name, --node-labels as global flags): the
// watcher runs what is placed on it, and a VM whose placement moves to
// another node is pruned here.
TEST_F(WatchTest, ConvergesOnlyWhatIsPlacedOnThisNode) {
  auto placed = [](const std::string& name, const std::string& placement) {
    std::string y = vm_yaml(name, "128Mi");
    return y.substr(0, y.size() - 2) + ", placement: " + placement + "}\n";
  };
  put("base.yaml", base_yaml());
  put("web-1.yaml", placed("web-1", "{node: runner-a}"));
  put("web-2.yaml", placed("web-2", "{nodeSelector: {zone: b}}"));
  start_and_converge({"web-1"}, {"--node-name", "runner-a", "--node-labels", "zone=a"});
  EXPECT_FALSE(exists("vm", "web-2"));
  put("web-1.yaml", placed("web-1", "{node: runner-b}"));
  ASSERT_TRUE(eventually([&] { return !exists("vm", "web-1"); })) << log();
  EXPECT_TRUE(log_has("- VM/web-1")) << log();
  // Placed here by label: it comes.
  put("web-2.yaml", placed("web-2", "{nodeSelector: {zone: a}}"));
  ASSERT_TRUE(eventually([&] { return vm_pid("web-2") > 0; })) << log();
}

TEST_F(WatchTest, ResourcesAppliedElsewhereAreLeftAlone) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"});
  // A person applies their own fleet from another folder while the watcher runs.
  std::string other = root() + "/mine";
  fs::create_directories(other);
  std::ofstream(other + "/hand.yaml")
      << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: mine}\nspec: {subnet: 10.79.0.0/24}\n"
      << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k2}\nspec: {path: " << root()
      << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img2}\nspec: {path: "
      << root() << "/rootfs.ext4}\n---\n"
      << vm_yaml("hand", "128Mi", "mine", "k2", "img2");
  // Relative -f: the record must still say where it really is.
  auto a = run_command({"/bin/sh", "-c",
                        "cd " + root() + " && " + BANGER_BIN + " apply -f mine --state-dir " + root() +
                            "/state --run-dir " + root() + "/run --firecracker " + FAKE_FIRECRACKER_BIN});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  int hand = vm_pid("hand");
  ASSERT_GT(hand, 0);
  auto g = banger({"get", "vm", "hand", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(g.out)["items"][0]["metadata"]["source"], other + "/hand.yaml");

  fs::remove(gitops_ + "/web-1.yaml");  // the watcher prunes, but only its own
  ASSERT_TRUE(eventually([&] { return !exists("vm", "web-1"); })) << log();
  kill(watcher_.pid(), SIGHUP);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(vm_pid("hand"), hand);
  EXPECT_TRUE(exists("network", "mine"));
  EXPECT_TRUE(exists("kernel", "k2"));
  // A hand-applied VM that dies is not the watcher's to restart.
  ASSERT_EQ(kill(hand, SIGKILL), 0);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(vm_pid("hand"), 0);
}

TEST_F(WatchTest, KilledVmIsRestartedAtOnce) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  // A long resync: the restart must come from the pidfd, not the timer.
  start_watcher({"--resync", "10m"});
  ASSERT_TRUE(eventually([&] { return vm_pid("web-1") > 0; })) << log();
  int p1 = vm_pid("web-1");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(p1, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { int p = vm_pid("web-1"); return p > 0 && p != p1; }, 10s)) << log();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "VM killed -> running again: " << ms.count() << " ms\n";
  EXPECT_TRUE(log_has("VM/web-1: process exited")) << log();
}

TEST_F(WatchTest, DeletedTapBridgeAndRuleAreRepairedByResync) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  put("fwd.yaml",
      "apiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: web-1-http}\n"
      "spec: {vm: web-1, hostPort: 8088, guestPort: 80}\n");
  start_and_converge({"web-1"});
  auto g = banger({"get", "vm", "web-1", "-o", "json"});
  std::string tap = nlohmann::json::parse(g.out)["items"][0]["status"]["TAP"];
  ASSERT_TRUE(eventually([&] { return sh("nft list table ip banger").out.find("dport 8088") != std::string::npos; }));

  ASSERT_EQ(sh("ip link del " + tap).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return sh("ip -o link show master bg-w").out.find(tap) != std::string::npos; }))
      << log();
  ASSERT_EQ(sh("ip link del bg-w").exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return sh("ip -o -4 addr show dev bg-w").out.find("10.78.0.1/24") != std::string::npos &&
           sh("ip -o link show master bg-w").out.find(tap) != std::string::npos;
  })) << log();
  ASSERT_EQ(sh("nft flush chain ip banger prerouting").exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return sh("nft list chain ip banger prerouting").out.find("dport 8088") != std::string::npos;
  })) << log();
  EXPECT_TRUE(log_has("resync: Plan:")) << log();
}

TEST_F(WatchTest, AForeignRuleInTableBangerIsRemovedByResync) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"});
  ASSERT_EQ(sh("nft add rule ip banger prerouting tcp dport 9999 accept").exit_code, 0);
  ASSERT_NE(sh("nft list table ip banger").out.find("dport 9999"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return sh("nft list table ip banger").out.find("dport 9999") == std::string::npos; }))
      << log();
  EXPECT_GT(vm_pid("web-1"), 0);
}

// restartPolicy under the watcher: never leaves a killed VM down (and get
// says so); a VM that dies at once backs off longer each time and shows
// CrashLoopBackOff.
TEST_F(WatchTest, NeverLeavesAKilledVmDown) {
  put("base.yaml", base_yaml());
  std::string vm = vm_yaml("batch", "128Mi");
  vm.replace(vm.find("diskStrategy: copy}"), 19, "diskStrategy: copy, restartPolicy: never}");
  put("batch.yaml", vm);
  start_and_converge({"batch"}, {"--resync", "1s"});
  int pid = vm_pid("batch");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return log_has("VM/batch: process exited"); })) << log();
  std::this_thread::sleep_for(3s);  // three resyncs
  EXPECT_EQ(vm_pid("batch"), 0) << log();
  auto st = nlohmann::json::parse(banger({"get", "vm", "batch", "-o", "json"}).out)["items"][0]["status"];
  EXPECT_EQ(st["STATE"], "Exited");
  EXPECT_EQ(st["RESTARTS"], "0");
  EXPECT_EQ(st["LAST-EXIT"], "killed by signal 9");
}

TEST_F(WatchTest, ACrashLoopBacksOffLongerEachTimeAndShowsCrashLoopBackOff) {
  setenv("FAKE_FIRECRACKER_EXIT_AFTER_START", "100", 1);
  put("base.yaml", base_yaml());
  put("crash.yaml", vm_yaml("crash", "128Mi"));
  start_watcher({"--resync", "1s"});
  unsetenv("FAKE_FIRECRACKER_EXIT_AFTER_START");  // the watcher has it; nothing else needs it
  bool looping = false;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = banger({"get", "vm", "crash", "-o", "json"});
        if (r.exit_code != 0) return false;
        auto st = nlohmann::json::parse(r.out)["items"][0]["status"];
        looping = looping || st["STATE"] == "CrashLoopBackOff";
        return looping && std::stoi(std::string(st["RESTARTS"])) >= 3;
      },
      30s))
      << log();
  // Restarts 1, 2, 3 came after 1 s, 2 s and 4 s of back-off: never at once.
  EXPECT_TRUE(log_has("restart 3 in a row")) << log();
  EXPECT_FALSE(log_has("restart 5 in a row")) << "the back-off does not grow: " << log();
}

TEST_F(WatchTest, SighupReconcilesAndSigtermLeavesVmsRunning) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"}, {"--resync", "10m"});
  int p1 = vm_pid("web-1");
  kill(watcher_.pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return log_has("SIGHUP: reconciling now"); })) << log();
  EXPECT_EQ(stop_watcher(), 0) << log();
  EXPECT_TRUE(log_has("stopping on signal; VMs keep running")) << log();
  EXPECT_TRUE(banger::test::process_alive(p1)) << "SIGTERM to the watcher stopped a VM";
  EXPECT_EQ(vm_pid("web-1"), p1);
}

TEST_F(WatchTest, JsonLogsAreOneObjectPerLine) {
  put("base.yaml", base_yaml());
  put("web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"}, {"--log-format", "json"});
  ASSERT_TRUE(eventually([&] { return log_has("reconcile complete"); })) << log();
  std::istringstream lines(log());
  std::string line;
  int n = 0;
  bool saw_action = false;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    if (j.value("resource", "") == "VM/web-1" && j.value("action", "") == "ensure-vm") {
      EXPECT_EQ(j["outcome"], "succeeded") << line;
      saw_action = true;
    }
    ++n;
  }
  EXPECT_GT(n, 3);
  EXPECT_TRUE(saw_action) << log();
}

TEST_F(WatchTest, MissingDirFailsAtOnce) {
  auto r = run_command({BANGER_BIN, "watch", root() + "/nope", "--state-dir", root() + "/state"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a folder"), std::string::npos) << r.err;
}

}  // namespace

namespace {

using banger::test::http_get_local;  // watcher_process.h

}  // namespace

// The watcher under systemd and Prometheus: READY=1 after its first
// reconcile, WATCHDOG=1 at half of WATCHDOG_USEC while idle, STOPPING=1 on
// SIGTERM; /metrics counts its reconciles and actions and shows the VMs.
TEST_F(WatchTest, MetricsAndSystemdNotify) {
  const std::string notify = root() + "/notify";
  int ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", notify.c_str());
  ASSERT_EQ(bind(ns, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  auto received = [&] {
    std::string all;
    char buf[512];
    ssize_t n;
    while ((n = recv(ns, buf, sizeof buf, 0)) > 0) all += std::string(buf, static_cast<size_t>(n)) + "|";
    return all;
  };
  setenv("NOTIFY_SOCKET", notify.c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);
  put("base.yaml", base_yaml());
  put("vms/web-1.yaml", vm_yaml("web-1", "128Mi"));
  start_and_converge({"web-1"}, {"--metrics-address", "127.0.0.1:19464", "--resync", "10m"});
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");

  std::string m;
  ASSERT_TRUE(eventually([&] {
    m = http_get_local(19464, "/metrics");
    return m.find("banger_reconciles_total{result=\"converged\"} 1") != std::string::npos;
  })) << m << log();
  EXPECT_NE(m.find("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4"), std::string::npos) << m;
  EXPECT_NE(m.find("banger_actions_total{kind=\"ensure-vm\",outcome=\"succeeded\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("banger_vms{state=\"running\",ready=\"true\",runtime=\"firecracker\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("banger_reconcile_duration_seconds_count 1"), std::string::npos) << m;
  EXPECT_EQ(m.find("banger_last_successful_reconcile_timestamp_seconds 0\n"), std::string::npos) << m;
  EXPECT_NE(http_get_local(19464, "/").find("HTTP/1.1 404"), std::string::npos);

  // A VM killed by hand: repaired, counted as drift, restarts shown.
  const int pid = vm_pid("web-1");
  kill(pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return vm_pid("web-1") > 0 && vm_pid("web-1") != pid; })) << log();
  ASSERT_TRUE(eventually([&] {
    m = http_get_local(19464, "/metrics");
    return m.find("banger_drift_repairs_total 1") != std::string::npos;
  })) << m;
  EXPECT_NE(m.find("banger_vm_restarts_total{vm=\"web-1\"} 1"), std::string::npos) << m;

  // A scrape's time (median of 20), for the README and the closing note.
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(http_get_local(19464, "/metrics").empty());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << "[  figure  ] /metrics scrape: median " << ms[10] << " ms, max " << ms.back() << " ms\n";

  std::this_thread::sleep_for(1s);  // idle: the watchdog is pinged meanwhile
  std::string got = received();
  EXPECT_NE(got.find("READY=1\nSTATUS=watching "), std::string::npos) << got;
  size_t pings = 0;
  for (size_t at = got.find("WATCHDOG=1"); at != std::string::npos; at = got.find("WATCHDOG=1", at + 1)) ++pings;
  EXPECT_GE(pings, 3u) << got;
  EXPECT_EQ(stop_watcher(), 0);
  EXPECT_NE(received().find("STOPPING=1"), std::string::npos);
  EXPECT_EQ(http_get_local(19464, "/metrics"), "") << "the endpoint outlived the watcher";
  close(ns);
}
