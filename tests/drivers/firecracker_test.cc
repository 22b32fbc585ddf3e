// FirecrackerDriver and FirecrackerApi against the strict fake Firecracker
// (tests/fake_firecracker): it speaks the v1.16.1 API on the unix socket,
// rejects what the real one rejects (unknown fields, missing files, a tap
// that does not exist in this netns) and records every request it got.
#include "drivers/firecracker.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/host_error.h"
#include "drivers/firecracker_api.h"
#include "netns.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kFake = FAKE_FIRECRACKER_BIN;

template <class F>
bool eventually(F what, std::chrono::milliseconds limit = 3s) {
  for (auto end = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < end;) {
    if (what()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return what();
}

// Sets (or unsets, with nullptr) an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A tap in the test's private netns, deleted at the end of the test.
class Tap {
 public:
  explicit Tap(std::string name) : name_(std::move(name)) {
    auto r = test::run_command({"/usr/sbin/ip", "tuntap", "add", "dev", name_, "mode", "tap"});
    if (r.exit_code != 0) throw std::runtime_error("ip tuntap add " + name_ + ": " + r.err);
  }
  ~Tap() { test::run_command({"/usr/sbin/ip", "link", "del", name_}); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Live (non-zombie) processes whose command line names `arg`: what a failed
// start must not leave behind.
std::vector<pid_t> processes_with_arg(const std::string& arg) {
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (!identify(pid)) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string a;
    while (std::getline(in, a, '\0')) {
      if (a == arg) found.push_back(pid);
    }
  }
  return found;
}

// Requests the fake recorded, bodies as JSON values.
std::vector<json> records(const std::string& sock) {
  std::vector<json> out;
  std::ifstream in(sock + ".requests.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line);
    if (j["body"].is_string() && !j["body"].get<std::string>().empty()) {
      j["body"] = json::parse(j["body"].get<std::string>());
    }
    out.push_back(j);
  }
  return out;
}

// The records other than the readiness probes (GET /), which must all come
// before the first configuration request.
std::vector<json> config_requests(const std::string& sock) {
  std::vector<json> out;
  for (const json& r : records(sock)) {
    if (r["method"] == "GET" && r["path"] == "/") {
      EXPECT_TRUE(out.empty()) << "GET / after configuration began: " << r.dump();
      continue;
    }
    out.push_back({{"method", r["method"]},
                   {"path", r["path"]},
                   {"body", r["body"]},
                   {"status", r["status"]}});
  }
  return out;
}

json put(const std::string& path, json body) {
  return {{"method", "PUT"}, {"path", path}, {"body", std::move(body)}, {"status", 204}};
}

class FirecrackerTest : public testing::Test {
 protected:
  VmLaunch launch(const std::string& name, const std::string& tap) {
    VmLaunch vm;
    vm.name = name;
    vm.run_dir = dir_.path() + "/run/vms/" + name;  // parents do not exist yet
    vm.kernel_path = dir_.write("vmlinux", "not really a kernel");
    vm.boot_args = "console=ttyS0 reboot=k panic=1 ip=172.20.0.2::172.20.0.1:255.255.255.0";
    vm.rootfs_path = dir_.write(name + ".ext4", "not really ext4");
    vm.vcpus = 2;
    vm.mem_mib = 256;
    vm.tap = tap;
    vm.mac = "06:00:ac:14:00:02";
    return vm;
  }
  VmHandle start(const VmLaunch& vm) {
    VmHandle h = driver_.start(vm);
    started_.push_back(h);
    return h;
  }
  // Whatever a test started dies with the test, also when it failed.
  // Its reaper's exit-status is waited for: dir_ is removed next.
  void TearDown() override {
    for (const auto& h : started_) {
      try {
        kill_process(h.process);
        wait_for_exit_status(fs::path(h.log_path).parent_path().string() + "/exit-status", 2s);
      } catch (...) {
      }
    }
  }

  test::TempDir dir_;
  FirecrackerDriver driver_{kFake};
  std::vector<VmHandle> started_;
};

TEST_F(FirecrackerTest, StartConfiguresBootsAndStopRemovesEverything) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fctest0");
  VmLaunch vm = launch("web-1", tap.name());
  VmHandle h = start(vm);

  EXPECT_EQ(h.api_socket, vm.run_dir + "/firecracker.sock");
  EXPECT_EQ(h.log_path, vm.run_dir + "/console.log");
  struct stat st {};
  // Search only for the group (a reader's `banger logs`), nothing for
  // others; the socket the hypervisor made is root's alone (umask 077).
  ASSERT_EQ(stat(vm.run_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02710u);
  ASSERT_EQ(stat(h.api_socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  EXPECT_TRUE(is_running(h.process));
  EXPECT_EQ(h.process.exe, fs::canonical(kFake).string());
  EXPECT_NE(getsid(h.process.pid), getsid(0)) << "the VM must be in its own session";

  std::vector<json> want{
      put("/machine-config", {{"vcpu_count", 2}, {"mem_size_mib", 256}}),
      put("/boot-source", {{"kernel_image_path", vm.kernel_path}, {"boot_args", vm.boot_args}}),
      put("/drives/rootfs", {{"drive_id", "rootfs"},
                             {"path_on_host", vm.rootfs_path},
                             {"is_root_device", true},
                             {"is_read_only", false}}),
      put("/network-interfaces/eth0",
          {{"iface_id", "eth0"}, {"host_dev_name", "fctest0"}, {"guest_mac", "06:00:ac:14:00:02"}}),
      put("/actions", {{"action_type", "InstanceStart"}}),
  };
  EXPECT_EQ(json(config_requests(h.api_socket)), json(want));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(is_running(h.process)) << "the VM died after start";

  auto t0 = std::chrono::steady_clock::now();
  driver_.stop(h, 10s);
  // The fake exits on SendCtrlAltDel, so stop returns long before the grace.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(is_running(h.process));
  EXPECT_FALSE(fs::exists(h.api_socket));
  auto after = config_requests(h.api_socket);
  ASSERT_EQ(after.size(), want.size() + 1);
  EXPECT_EQ(after.back(), put("/actions", {{"action_type", "SendCtrlAltDel"}}));
}

TEST_F(FirecrackerTest, InitrdIsPassedAndEmptyBootArgsAreLeftOut) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fctest1");
  VmLaunch vm = launch("initrd-vm", tap.name());
  vm.initrd_path = dir_.write("initrd.img", "not really an initrd");
  vm.boot_args = "";
  vm.mac = "";
  VmHandle h = start(vm);
  auto got = config_requests(h.api_socket);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[1]["body"],
            json({{"kernel_image_path", vm.kernel_path}, {"initrd_path", vm.initrd_path}}));
  EXPECT_EQ(got[3]["body"], json({{"iface_id", "eth0"}, {"host_dev_name", "fctest1"}}));
  driver_.stop(h, 0ms);  // no grace: straight to SIGKILL
  EXPECT_FALSE(is_running(h.process));
  EXPECT_FALSE(fs::exists(h.api_socket));
}

TEST_F(FirecrackerTest, MissingTapFailsAtNetworkStepAndLeavesNothing) {
  REQUIRE_PRIVATE_NETNS();
  VmLaunch vm = launch("no-tap", "fcmissing0");
  std::string sock = vm.run_dir + "/firecracker.sock";
  try {
    start(vm);
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("VM/no-tap"), std::string::npos) << msg;
    EXPECT_NE(msg.find("network-interfaces"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tap \"fcmissing0\" does not exist (Firecracker would create an unconnected one)"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find(vm.run_dir + "/console.log"), std::string::npos) << msg;
  }
  EXPECT_EQ(processes_with_arg(sock), std::vector<pid_t>{});
  EXPECT_FALSE(fs::exists(sock));
  // It got as far as the tap, and asked Firecracker for nothing more: as
  // root, Firecracker would have created the tap by opening it.
  auto got = config_requests(sock);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2]["path"], "/drives/rootfs");
  EXPECT_EQ(::if_nametoindex("fcmissing0"), 0u) << "the tap must not be created";
}

TEST_F(FirecrackerTest, MissingBinaryIsAnErrorAndLeavesNoSocket) {
  FirecrackerDriver driver(dir_.path() + "/bin/firecracker");
  VmLaunch vm = launch("no-binary", "fcunused0");
  try {
    driver.start(vm);
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("VM/no-binary"), std::string::npos) << msg;
    EXPECT_NE(msg.find(dir_.path() + "/bin/firecracker"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(vm.run_dir + "/firecracker.sock"));
}

TEST_F(FirecrackerTest, ProcessThatDiesBeforeTheApiFailsFastWithItsLog) {
  std::string bin =
      dir_.write("bin/dying-firecracker",
                 "#!/bin/sh\necho 'Error: Failed to open the API socket'\nsleep 0.1\nexit 1\n");
  fs::permissions(bin, fs::perms::owner_all);
  FirecrackerDriver driver(bin);
  VmLaunch vm = launch("dies", "fcunused1");
  auto t0 = std::chrono::steady_clock::now();
  try {
    driver.start(vm);
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("wait for API"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Failed to open the API socket"), std::string::npos) << msg;
  }
  // Not the 5 s readiness timeout: the death is noticed while polling.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(FirecrackerTest, StaleSocketFromAnEarlierRunIsRemoved) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fctest2");
  VmLaunch vm = launch("stale", tap.name());
  fs::create_directories(vm.run_dir);
  // What a killed Firecracker leaves: a bound socket file nobody listens on.
  std::string sock = vm.run_dir + "/firecracker.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  sock.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
  ASSERT_TRUE(fs::exists(sock));
  VmHandle h = start(vm);
  EXPECT_TRUE(is_running(h.process));
  EXPECT_EQ(config_requests(sock).size(), 5u);
}

TEST_F(FirecrackerTest, StopOfAnAlreadyDeadVmIsFine) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fctest3");
  VmHandle h = start(launch("dead", tap.name()));
  kill_process(h.process);
  ASSERT_FALSE(is_running(h.process));
  ASSERT_TRUE(fs::exists(h.api_socket)) << "Firecracker never unlinks its socket";
  EXPECT_NO_THROW(driver_.stop(h, 1s));
  EXPECT_FALSE(fs::exists(h.api_socket));
  EXPECT_NO_THROW(driver_.stop(h, 1s));  // twice: absent is success
  EXPECT_NO_THROW(driver_.stop(VmHandle{}, 1s));
}

TEST_F(FirecrackerTest, VmThatExitsAfterStartIsSeenAsNotRunning) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fctest4");
  ScopedEnv env("FAKE_FIRECRACKER_EXIT_AFTER_START", "50");
  VmHandle h = start(launch("crashy", tap.name()));
  EXPECT_TRUE(eventually([&] { return !is_running(h.process); }));
}

TEST(FindFirecracker, FlagThenEnvThenPath) {
  test::TempDir dir;
  std::string on_path = dir.write("path/firecracker", "#!/bin/sh\n");
  fs::permissions(on_path, fs::perms::owner_all);
  std::string other = dir.write("other/fc", "#!/bin/sh\n");
  fs::permissions(other, fs::perms::owner_all);
  ScopedEnv path("PATH", (dir.path() + "/nowhere:" + dir.path() + "/path").c_str());
  {
    ScopedEnv env("BANGER_FIRECRACKER_BIN", nullptr);
    EXPECT_EQ(find_firecracker(""), on_path);
    EXPECT_EQ(find_firecracker(other), other);
  }
  ScopedEnv env("BANGER_FIRECRACKER_BIN", other.c_str());
  EXPECT_EQ(find_firecracker(""), other);
  EXPECT_EQ(find_firecracker(on_path), on_path);
}

TEST(FindFirecracker, MissingBinaryNamesAllThreeWays) {
  test::TempDir dir;
  std::string not_exec = dir.write("path/firecracker", "#!/bin/sh\n");  // mode 0644
  ScopedEnv path("PATH", (dir.path() + "/path").c_str());
  ScopedEnv env("BANGER_FIRECRACKER_BIN", nullptr);
  for (const std::string& flag : {std::string(), dir.path() + "/nope"}) {
    try {
      find_firecracker(flag);
      FAIL() << "expected HostError for flag '" << flag << "'";
    } catch (const HostError& e) {
      std::string msg = e.what();
      for (const char* way : {"--firecracker", "BANGER_FIRECRACKER_BIN", "PATH"}) {
        EXPECT_NE(msg.find(way), std::string::npos) << msg;
      }
    }
  }
  ScopedEnv bad_env("BANGER_FIRECRACKER_BIN", not_exec.c_str());
  EXPECT_THROW(find_firecracker(""), HostError);
}

TEST(FirecrackerApiTest, SocketPathTooLongIsRejected) {
  std::string sock = "/tmp/" + std::string(103, 'x');  // 108 bytes: one too many
  try {
    FirecrackerApi api(sock);
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("107"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(FirecrackerApi("/tmp/" + std::string(102, 'x')));
}

TEST(FirecrackerApiTest, WaitReadyTimesOutWithoutSocket) {
  test::TempDir dir;
  FirecrackerApi api(dir.path() + "/none.sock");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(api.wait_ready(200ms), HostError);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
}

TEST(FirecrackerApiTest, ErrorCarriesMethodPathStatusAndFaultMessage) {
  test::TempDir dir;
  std::string sock = dir.path() + "/api.sock";
  ProcessIdentity p =
      spawn_detached({{kFake, "--api-sock", sock, "--id", "api-test"}, dir.path() + "/log", ""});
  struct Kill {
    ProcessIdentity p;
    ~Kill() { kill_process(p); }
  } guard{p};
  FirecrackerApi api(sock);
  api.wait_ready(5s);
  EXPECT_EQ(api.get("/").status, 200);
  try {
    api.put("/machine-config", json{{"vcpu_count", 1}, {"mem_size_mib", 128}, {"bogus", 1}}.dump());
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("PUT /machine-config"), std::string::npos) << msg;
    EXPECT_NE(msg.find("400"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bogus"), std::string::npos)
        << "Firecracker's fault_message names the field: " << msg;
  }
  EXPECT_NO_THROW(
      api.put("/machine-config", json{{"vcpu_count", 1}, {"mem_size_mib", 128}}.dump()));
  EXPECT_NO_THROW(api.patch("/machine-config", json{{"mem_size_mib", 256}}.dump()));
  auto cfg = json::parse(api.get("/machine-config").body);
  EXPECT_EQ(cfg["mem_size_mib"], 256);
}

}  // namespace
}  // namespace banger
