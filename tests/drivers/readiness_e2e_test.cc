// apply --wait and get's READY with the real banger binary and the strict
// fake Firecracker. The fake runs no guest, so the test answers for it: the
// guest's IP is added to this namespace's loopback and a listener here plays
// the guest's server; a port nobody listens on plays a guest that never
// comes up.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "host_e2e.h"

using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::sh;
using banger::test::TempDir;

namespace {

// Accepts on 0.0.0.0:port and answers every connection with an HTTP 200.
class Server {
 public:
  Server() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] {
      for (;;) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[512];
        (void)!recv(c, buf, sizeof buf, 0);
        const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
        (void)!send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~Server() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

class Readiness : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 8 << 20);
    // The guests' addresses, answered by this namespace itself.
    ASSERT_EQ(sh("ip addr add 10.79.0.11/32 dev lo && ip addr add 10.79.0.12/32 dev lo").exit_code, 0);
  }
  void TearDown() override {
    unsetenv("FAKE_FIRECRACKER_EXIT_AFTER_START");
    if (!dir_) return;
    HostE2E::TearDown();
    sh("ip addr del 10.79.0.11/32 dev lo; ip addr del 10.79.0.12/32 dev lo");
  }

  // VM `up` probes `up_probe`; VM `down` (when given) probes `down_probe`.
  void write(const std::string& up_probe, const std::string& down_probe = "") {
    std::ostringstream m;
    m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: rdy}\nspec: {subnet: 10.79.0.0/24}\n"
      << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir_->path()
      << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: "
      << dir_->path() << "/rootfs.ext4}\n";
    auto vm = [&](const std::string& name, const std::string& ip, const std::string& probe) {
      m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << name << "}\n"
        << "spec: {kernel: k, image: img, network: rdy, ip: " << ip
        << ", memory: 128Mi, runtime: firecracker, diskStrategy: copy, readiness: " << probe << "}\n";
    };
    vm("up", "10.79.0.11", up_probe);
    if (!down_probe.empty()) vm("down", "10.79.0.12", down_probe);
    dir_->write("m/vms.yaml", m.str());
  }

  nlohmann::json status(const std::string& vm) { return banger::test::vm_status_in(dir_->path(), vm); }
};

TEST_F(Readiness, WaitSucceedsOnceTheProbePassesAndGetSaysReady) {
  Server guest;
  write("{http: {port: " + std::to_string(guest.port()) + ", path: /healthz}, timeout: 10s}");
  auto a = banger({"apply", "-f", dir_->path() + "/m", "--wait"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("VM/up: ready (http://10.79.0.11:" + std::to_string(guest.port()) + "/healthz: HTTP 200)"),
            std::string::npos)
      << a.out;
  auto st = status("up");
  EXPECT_EQ(st["READY"], "true");
  EXPECT_EQ(st["READINESS"], "HTTP 200");
  auto table = banger({"get", "vms"});
  EXPECT_NE(table.out.find("READY"), std::string::npos) << table.out;
}

TEST_F(Readiness, WaitFailsNamingTheVmWhoseProbeTimedOutWithItsConsole) {
  Server guest;
  int closed = guest.port() == 1 ? 2 : 1;  // tcpmux: nothing listens on port 1 here
  write("{tcp: " + std::to_string(guest.port()) + "}", "{http: {port: " + std::to_string(closed) +
                                                           ", path: /health}, timeout: 2s}");
  auto t0 = std::chrono::steady_clock::now();
  auto a = banger({"apply", "-f", dir_->path() + "/m", "--wait"});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE(a.out.find("VM/up: ready (tcp 10.79.0.11:" + std::to_string(guest.port()) + ": connected)"),
            std::string::npos)
      << a.out;
  EXPECT_NE(a.err.find("error: VM/down: not ready: readiness probe http://10.79.0.12:1/health did not pass "
                       "within 2s (last: Connection refused)"),
            std::string::npos)
      << a.err;
  EXPECT_NE(a.err.find("last lines of " + dir_->path() + "/run/vms/down/"), std::string::npos) << a.err;
  EXPECT_EQ(a.err.find("VM/up"), std::string::npos) << a.err;
  EXPECT_LT(took, 60);
  // The VMs were made and stay: readiness failing is not a rollback.
  EXPECT_EQ(status("down")["STATE"], "Running");
  EXPECT_EQ(status("down")["READY"], "false");
  EXPECT_EQ(status("up")["READY"], "true");
  // Nothing changed since, so a second apply --wait has nothing to wait for.
  auto again = banger({"apply", "-f", dir_->path() + "/m", "--wait"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("No changes"), std::string::npos) << again.out;
}

TEST_F(Readiness, WithoutWaitApplySaysNotReadyYetAndSucceeds) {
  write("{tcp: 1, timeout: 1s}");
  auto a = banger({"apply", "-f", dir_->path() + "/m", "-o", "json"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto j = nlohmann::json::parse(a.out);
  ASSERT_EQ(j["readiness"].size(), 1u) << a.out;
  EXPECT_EQ(j["readiness"][0]["vm"], "up");
  EXPECT_EQ(j["readiness"][0]["ready"], false);
  EXPECT_EQ(j["ok"], true);
  // What each action did is data as well as words: the VM's steps name the
  // tap it made and the process it started, with the same pid `get` shows.
  nlohmann::json vm_steps;
  for (const auto& act : j["actions"]) {
    if (act["action"] == "ensure-vm") vm_steps = act["steps"];
  }
  ASSERT_TRUE(vm_steps.is_array()) << a.out;
  std::vector<std::string> names;
  for (const auto& st : vm_steps) names.push_back(st["step"]);
  EXPECT_EQ(names, (std::vector<std::string>{"tap.ensure", "disk.ensure", "vm.start"})) << vm_steps.dump();
  const auto& start = vm_steps.back();
  EXPECT_EQ(start["result"], "started");
  EXPECT_EQ(start["facts"]["runtime"], "firecracker");
  EXPECT_EQ(start["facts"]["pid"], std::string(status("up")["PID"]));
  write("{tcp: 1, timeout: 5s}");
  auto h = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(h.exit_code, 0) << h.out << h.err;
}

TEST_F(Readiness, AVmWhoseProcessDiesFailsTheWaitAtOnce) {
  Server guest;
  setenv("FAKE_FIRECRACKER_EXIT_AFTER_START", "300", 1);
  write("{tcp: 1, timeout: 60s}");
  auto t0 = std::chrono::steady_clock::now();
  auto a = banger({"apply", "-f", dir_->path() + "/m", "--wait"});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE(a.err.find("error: VM/up: not ready: VM process is not running"), std::string::npos) << a.err;
  EXPECT_LT(took, 30) << "waited for the probe timeout instead of noticing the exit";
}

}  // namespace

namespace {

// Relative --state-dir/--run-dir are made absolute before any path reaches a
// hypervisor (whose working directory is the VM's run dir) or the records.
TEST_F(Readiness, RelativeStateAndRunDirsWork) {
  write("{tcp: 1, timeout: 1s}");
  auto a = sh("cd " + dir_->path() + " && " + BANGER_BIN + " apply -f m --state-dir state --run-dir run " +
              "--firecracker " + FAKE_FIRECRACKER_BIN);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto st = status("up");
  EXPECT_EQ(st["STATE"], "Running");
  EXPECT_EQ(std::string(st["DISK"]).rfind(dir_->path() + "/state/", 0), 0u) << st["DISK"];
}

}  // namespace
