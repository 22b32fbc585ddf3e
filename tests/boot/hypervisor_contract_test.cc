// The contract every Hypervisor (drivers/hypervisor.h) keeps, run against
// both drivers: Firecracker pointed at the strict fake (no /dev/kvm here) and
// QEMU under TCG with the demo kernel, initrd and root disk, each on a tap in
// this process's private network namespace. A case says what the reconciler
// relies on (observe: identity and files; ensure: start; remove: stop) in
// driver-neutral terms; a DriverUnderTest says how to see it for one driver
// (the fake's request record, /proc/PID/cmdline, the console log).
//
// Every case applies to both drivers, so the suite is instantiated for both
// in full. QEMU processes are started with the guest booting but only the
// graceful-stop case waits for the guest (seconds under TCG); the others
// stop it as soon as they have looked.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/host_error.h"
#include "drivers/firecracker.h"
#include "drivers/process.h"
#include "drivers/kvm.h"
#include "drivers/qemu.h"
#include "reconciler/runtime_choice.h"
#include "ip_cli.h"
#include "leftovers.h"
#include "netns.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kCache = DEMO_CACHE_DIR;

template <class F>
bool eventually(F what, std::chrono::milliseconds limit = 5s) {
  for (auto end = Clock::now() + limit; Clock::now() < end;) {
    if (what()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return what();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Socket files left in a run dir: after a failed start there must be none.
std::vector<std::string> sockets_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (is_socket(e.path())) found.push_back(e.path());
  }
  return found;
}

// Live (non-zombie) processes whose command line mentions `text`.
std::vector<pid_t> processes_mentioning(const std::string& text) {
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (read_file(e.path() / "cmdline").find(text) == std::string::npos) continue;
    if (test::process_alive(std::stoi(name))) found.push_back(std::stoi(name));
  }
  return found;
}

/// What the hypervisor process was actually told to use, however the driver
/// passed it (API requests, command line).
struct Launched {
  std::string kernel, initrd, boot_args, disk, tap, mac;
};

class DriverUnderTest {
 public:
  virtual ~DriverUnderTest() = default;
  virtual std::string name() const = 0;
  /// The binary to run; "" with `why` set when this host has none.
  virtual std::string binary(std::string& why) const = 0;
  virtual std::unique_ptr<Hypervisor> make(const std::string& binary) const = 0;
  /// File name of the control socket in the VM's run dir.
  virtual std::string socket_name() const = 0;
  virtual Launched launched(const VmHandle& h) const = 0;
  /// Waits until the guest can honour a graceful stop; fails the test if not.
  virtual void await_guest(const VmHandle& h) const = 0;
  /// After a stop with a long grace: evidence that the guest shut down itself.
  virtual void expect_shut_down_gracefully(const VmHandle& h) const = 0;
};

// --- Firecracker, against the strict fake -----------------------------------

// The fake records every request it answered next to its socket.
std::vector<json> fake_records(const std::string& sock) {
  std::vector<json> out;
  std::ifstream in(sock + ".requests.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["body"].is_string() && !j["body"].get<std::string>().empty()) {
      j["body"] = json::parse(j["body"].get<std::string>());
    }
    out.push_back(j);
  }
  return out;
}

json fake_body(const std::string& sock, const std::string& path) {
  json body;
  for (const json& r : fake_records(sock)) {
    if (r["method"] == "PUT" && r["path"] == path && r["status"] == 204) body = r["body"];
  }
  return body;
}

std::string str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

class FakeFirecracker : public DriverUnderTest {
 public:
  std::string name() const override { return "firecracker"; }
  std::string binary(std::string&) const override { return FAKE_FIRECRACKER_BIN; }
  std::unique_ptr<Hypervisor> make(const std::string& binary) const override {
    return std::make_unique<FirecrackerDriver>(binary);
  }
  std::string socket_name() const override { return "firecracker.sock"; }
  Launched launched(const VmHandle& h) const override {
    json boot = fake_body(h.api_socket, "/boot-source");
    json drive = fake_body(h.api_socket, "/drives/rootfs");
    json nic = fake_body(h.api_socket, "/network-interfaces/eth0");
    return {str(boot, "kernel_image_path"), str(boot, "initrd_path"), str(boot, "boot_args"),
            str(drive, "path_on_host"),     str(nic, "host_dev_name"),  str(nic, "guest_mac")};
  }
  // The fake has no guest: it is "booted" once InstanceStart was answered.
  void await_guest(const VmHandle& h) const override {
    EXPECT_TRUE(eventually([&] { return read_file(h.log_path).find("Guest booted (fake)") != std::string::npos; }))
        << read_file(h.log_path);
  }
  void expect_shut_down_gracefully(const VmHandle& h) const override {
    auto recs = fake_records(h.api_socket);
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs.back()["path"], "/actions");
    EXPECT_EQ(recs.back()["body"], json({{"action_type", "SendCtrlAltDel"}}));
    EXPECT_EQ(recs.back()["status"], 204);
    // Logged by the fake as it exits by itself; a SIGKILL leaves no such line.
    EXPECT_NE(read_file(h.log_path).find("Firecracker exiting successfully"), std::string::npos)
        << read_file(h.log_path);
  }
};

// --- QEMU, real, under TCG ----------------------------------------------------

std::vector<std::string> cmdline_of(pid_t pid) {
  std::vector<std::string> args;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  return args;
}

// The argument after each `flag`.
std::vector<std::string> values_of(const std::vector<std::string>& args, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) out.push_back(args[i + 1]);
  }
  return out;
}

// `key=VALUE` out of QEMU's comma-separated option strings (first match).
std::string option(const std::vector<std::string>& values, const std::string& key) {
  for (const auto& v : values) {
    std::string s = "," + v;
    auto at = s.find("," + key + "=");
    if (at == std::string::npos) continue;
    at += key.size() + 2;
    return s.substr(at, s.find(',', at) - at);
  }
  return "";
}

std::string first(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

class RealQemu : public DriverUnderTest {
 public:
  std::string name() const override { return "qemu"; }
  std::string binary(std::string& why) const override {
    try {
      return find_qemu();
    } catch (const HostError& e) {
      why = e.what();
      return "";
    }
  }
  std::unique_ptr<Hypervisor> make(const std::string& binary) const override {
    // KVM only where it can boot an ordinary guest (not PVM), as banger decides.
    return std::make_unique<QemuDriver>(binary, judge_kvm(probe_kvm()).usable);
  }
  std::string socket_name() const override { return "qmp.sock"; }
  Launched launched(const VmHandle& h) const override {
    auto args = cmdline_of(h.process.pid);
    return {first(values_of(args, "-kernel")),   first(values_of(args, "-initrd")),
            first(values_of(args, "-append")),   option(values_of(args, "-drive"), "file"),
            option(values_of(args, "-netdev"), "ifname"), option(values_of(args, "-device"), "mac")};
  }
  // The demo guest's init prints this once its power-button watcher runs
  // (scripts/demo-guest/rootfs-init); before that ACPI powerdown is ignored.
  void await_guest(const VmHandle& h) const override {
    bool ready = eventually(
        [&] { return read_file(h.log_path).find("banger-demo: ready on") != std::string::npos; }, 120s);
    ASSERT_TRUE(ready) << "the demo guest did not reach its init; console:\n" << read_file(h.log_path);
  }
  void expect_shut_down_gracefully(const VmHandle& h) const override {
    std::string log = read_file(h.log_path);
    EXPECT_NE(log.find("banger-demo: power button pressed"), std::string::npos) << log;
    // The kernel's last words on poweroff: QEMU then exits by itself (-no-reboot).
    EXPECT_NE(log.find("reboot: Power down"), std::string::npos) << log;
  }
};

const FakeFirecracker kFirecracker;
const RealQemu kQemu;

// --- the contract -------------------------------------------------------------

// Start and stop times per driver, printed once per driver as figures.
std::map<std::string, std::map<std::string, std::vector<double>>> g_times;

class HypervisorContract : public testing::TestWithParam<const DriverUnderTest*> {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_NETNS();
    if (!fs::exists(kCache + "/vmlinuz")) GTEST_SKIP() << "demo artifacts not built in " << kCache;
    std::string why;
    binary_ = GetParam()->binary(why);
    if (binary_.empty()) GTEST_SKIP() << GetParam()->name() << " not available: " << why;
    driver_ = GetParam()->make(binary_);
  }
  // Whatever a test started dies with it, also when it failed half-way.
  // Each reaper's exit-status is waited for: dir_ is removed next.
  void TearDown() override {
    for (const auto& h : started_) {
      try {
        kill_process(h.process);
        wait_for_exit_status(std::filesystem::path(h.log_path).parent_path().string() + "/exit-status",
                             std::chrono::seconds(2));
      } catch (...) {
      }
    }
    test::kill_processes_mentioning(dir_.path());
  }
  static void TearDownTestSuite() {
    for (const auto& [driver, ops] : g_times) {
      for (const auto& [op, secs] : ops) {
        auto [lo, hi] = std::minmax_element(secs.begin(), secs.end());
        std::printf("[  figure  ] %s %s: %zu runs, %.3f s .. %.3f s\n", driver.c_str(), op.c_str(),
                    secs.size(), *lo, *hi);
      }
    }
    g_times.clear();
  }

  // A VM named `name` on a new tap (made unless `make_tap` is false), with the
  // demo kernel and initrd and its own copy of the demo root disk.
  VmLaunch launch(const std::string& name, bool make_tap = true) {
    int n = static_cast<int>(links_.names.size());
    VmLaunch vm;
    vm.name = name;
    vm.run_dir = dir_.path() + "/run/vms/" + name;
    vm.kernel_path = kCache + "/vmlinuz";
    vm.initrd_path = kCache + "/initrd.img";
    vm.boot_args = "console=ttyS0 reboot=k panic=1 ip=10.77.0." + std::to_string(n + 2) +
                   "::10.77.0.1:255.255.255.0:" + name + ":eth0:off";
    vm.rootfs_path = dir_.path() + "/" + name + ".ext4";
    // Sparse: the 64 MiB image holds a few MiB; the guest writes to its copy.
    auto cp = test::run_command({"/bin/cp", "--sparse=always", "--reflink=auto",
                                 kCache + "/rootfs.ext4", vm.rootfs_path});
    if (cp.exit_code != 0) throw std::runtime_error("copy of the demo root disk failed: " + cp.err);
    vm.vcpus = 1;
    vm.mem_mib = 256;
    vm.tap = "hc" + GetParam()->name().substr(0, 4) + std::to_string(n);
    vm.mac = "06:00:0a:4d:00:0" + std::to_string(n + 2);
    if (make_tap) {
      test::ip({"tuntap", "add", "dev", vm.tap, "mode", "tap"});
      links_.names.push_back(vm.tap);
    } else {
      vm.tap += "-none";
    }
    return vm;
  }
  VmHandle start(const VmLaunch& vm) {
    auto t0 = Clock::now();
    VmHandle h = driver_->start(vm);
    started_.push_back(h);
    record("start", t0);
    return h;
  }
  void stop(const VmHandle& h, std::chrono::milliseconds grace, const char* what = "stop") {
    auto t0 = Clock::now();
    driver_->stop(h, grace);
    record(what, t0);
  }
  void record(const std::string& op, Clock::time_point t0) {
    g_times[GetParam()->name()][op].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  // The start must fail with a HostError naming the VM; returns its text.
  std::string start_error(const VmLaunch& vm) {
    try {
      start(vm);
    } catch (const HostError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("VM/" + vm.name), std::string::npos) << msg;
      std::printf("[  error   ] %s\n", msg.substr(0, msg.find('\n')).c_str());
      return msg;
    }
    ADD_FAILURE() << GetParam()->name() << " started VM " << vm.name << " instead of failing";
    return "";
  }
  void expect_nothing_left(const VmLaunch& vm) {
    EXPECT_EQ(processes_mentioning(vm.run_dir), std::vector<pid_t>{}) << "a failed start left a process";
    EXPECT_EQ(sockets_in(vm.run_dir), std::vector<std::string>{});
  }

  test::TempDir dir_;
  test::LinkGuard links_;
  std::string binary_;
  std::unique_ptr<Hypervisor> driver_;
  std::vector<VmHandle> started_;
};

TEST_P(HypervisorContract, StartRunsTheVmUnderAVerifiableIdentityWithSocketAndLog) {
  VmLaunch vm = launch("ident");
  VmHandle h = start(vm);
  EXPECT_TRUE(is_running(h.process));
  EXPECT_TRUE(test::process_alive(h.process.pid));
  auto now = identify(h.process.pid);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->start_time, h.process.start_time);
  EXPECT_EQ(now->exe, h.process.exe);
  EXPECT_EQ(h.process.exe, fs::canonical(binary_).string());
  EXPECT_EQ(h.api_socket, vm.run_dir + "/" + GetParam()->socket_name());
  EXPECT_TRUE(is_socket(h.api_socket)) << h.api_socket;
  EXPECT_TRUE(fs::is_regular_file(h.log_path)) << h.log_path;
  EXPECT_EQ(fs::path(h.log_path).parent_path(), vm.run_dir);
  // Identity is what tells "our VM" from a recycled pid: a different start
  // time or binary is not it.
  EXPECT_FALSE(is_running({h.process.pid, h.process.start_time + 1, h.process.exe}));
  EXPECT_FALSE(is_running({h.process.pid, h.process.start_time, "/usr/bin/other"}));
}

TEST_P(HypervisorContract, ProcessGetsTheVmsTapMacKernelInitrdBootArgsAndDisk) {
  VmLaunch vm = launch("args");
  VmHandle h = start(vm);
  Launched got = GetParam()->launched(h);
  EXPECT_EQ(got.tap, vm.tap);
  EXPECT_EQ(got.mac, vm.mac);
  EXPECT_EQ(got.kernel, vm.kernel_path);
  EXPECT_EQ(got.initrd, vm.initrd_path);
  EXPECT_EQ(got.disk, vm.rootfs_path);
  // QEMU under TCG appends tsc_early_khz=...; what the VM asked for comes first.
  EXPECT_TRUE(got.boot_args.starts_with(vm.boot_args)) << got.boot_args;
}

TEST_P(HypervisorContract, StopEndsTheProcessRemovesTheSocketAndAgainIsSuccess) {
  VmLaunch vm = launch("stop");
  VmHandle h = start(vm);
  // A short grace: for QEMU the guest is still booting and ignores the power
  // button, so this also covers "SIGKILL once the grace is over".
  stop(h, 500ms);
  EXPECT_FALSE(is_running(h.process));
  EXPECT_FALSE(test::process_alive(h.process.pid)) << "still there (or a zombie)";
  EXPECT_FALSE(fs::exists(h.api_socket));
  EXPECT_NO_THROW(driver_->stop(h, 500ms));  // absent is success
  EXPECT_NO_THROW(driver_->stop(h, 0ms));
  EXPECT_FALSE(fs::exists(h.api_socket));
}

TEST_P(HypervisorContract, StopOfAVmKilledBehindItsBackIsSuccessAndRemovesTheSocket) {
  VmLaunch vm = launch("killed");
  VmHandle h = start(vm);
  ASSERT_EQ(::kill(h.process.pid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !test::process_alive(h.process.pid); }));
  ASSERT_TRUE(is_socket(h.api_socket)) << "a SIGKILLed hypervisor cannot unlink its socket";
  EXPECT_NO_THROW(stop(h, 1s));
  EXPECT_FALSE(fs::exists(h.api_socket));
  EXPECT_NO_THROW(driver_->stop(h, 1s));
}

TEST_P(HypervisorContract, GracefulStopLetsTheGuestShutDownBeforeTheGraceRunsOut) {
  VmLaunch vm = launch("graceful");
  VmHandle h = start(vm);
  GetParam()->await_guest(h);
  if (HasFatalFailure()) return;
  constexpr auto kGrace = 30s;
  auto t0 = Clock::now();
  stop(h, kGrace, "graceful stop");
  // Generous: only a stop that fell back to SIGKILL takes the whole grace.
  EXPECT_LT(Clock::now() - t0, kGrace);
  EXPECT_FALSE(test::process_alive(h.process.pid));
  EXPECT_FALSE(fs::exists(h.api_socket));
  GetParam()->expect_shut_down_gracefully(h);
}

TEST_P(HypervisorContract, MissingKernelIsAHostErrorNamingItAndLeavesNothing) {
  VmLaunch vm = launch("nokernel");
  vm.kernel_path = dir_.path() + "/missing/vmlinuz";
  std::string msg = start_error(vm);
  EXPECT_NE(msg.find("kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find(vm.kernel_path), std::string::npos) << msg;
  expect_nothing_left(vm);
}

TEST_P(HypervisorContract, MissingTapIsAnErrorAndLeavesNothing) {
  VmLaunch vm = launch("notap", /*make_tap=*/false);
  std::string msg = start_error(vm);
  EXPECT_NE(msg.find(vm.tap), std::string::npos) << msg;
  expect_nothing_left(vm);
  // Opening a tap by name as root creates it: the VM would run unconnected.
  EXPECT_NE(test::ip_try({"link", "show", vm.tap}).exit_code, 0) << vm.tap << " was created";
  test::ip_try({"link", "del", vm.tap});
}

TEST_P(HypervisorContract, TwoVmsRunSideBySideAndStoppingOneLeavesTheOther) {
  VmLaunch a = launch("vm-a"), b = launch("vm-b");
  VmHandle ha = start(a), hb = start(b);
  EXPECT_NE(ha.process.pid, hb.process.pid);
  EXPECT_NE(ha.api_socket, hb.api_socket);
  EXPECT_NE(ha.log_path, hb.log_path);
  EXPECT_TRUE(is_running(ha.process));
  EXPECT_TRUE(is_running(hb.process));
  stop(ha, 200ms);
  EXPECT_FALSE(is_running(ha.process));
  EXPECT_FALSE(fs::exists(ha.api_socket));
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(is_running(hb.process));
  EXPECT_TRUE(is_socket(hb.api_socket));
  EXPECT_EQ(GetParam()->launched(hb).tap, b.tap) << "the survivor is the VM it was";
  stop(hb, 200ms);
  EXPECT_FALSE(is_running(hb.process));
}

INSTANTIATE_TEST_SUITE_P(Drivers, HypervisorContract,
                         testing::Values<const DriverUnderTest*>(&kFirecracker, &kQemu),
                         [](const auto& info) { return info.param->name(); });

}  // namespace
}  // namespace banger
