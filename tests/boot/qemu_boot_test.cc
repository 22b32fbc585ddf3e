// Real boots: the demo VM (Debian's kernel, a busybox root serving a page)
// under QEMU with software emulation, applied by the real banger binary in
// this process's private network namespace, and reached through its port
// forward on 127.0.0.1. Few boots on purpose: each takes seconds under TCG.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "drivers/kvm.h"
#include "leftovers.h"
#include "netns.h"
#include "oci_registry_fixture.h"
#include "reconciler/runtime_choice.h"
#include "run_command.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kCache = DEMO_CACHE_DIR;

// GET / from 127.0.0.1:port; "" when nothing answers.
std::string http_get(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// Seconds until the page answers through the forward, or -1 after `limit`.
double wait_for_page(int port, std::chrono::seconds limit) {
  auto t0 = Clock::now();
  while (Clock::now() - t0 < limit) {
    if (http_get(port).find("served by banger") != std::string::npos) {
      return std::chrono::duration<double>(Clock::now() - t0).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return -1;
}

bool alive(int pid) { return banger::test::process_alive(pid); }

std::string dnsmasq_bin() { return fs::exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq"; }

class QemuBoot : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_NETNS();
    if (!fs::exists(kCache + "/vmlinuz")) GTEST_SKIP() << "demo artifacts not built in " << kCache;
    dir_ = std::make_unique<TempDir>();
    std::ifstream web(std::string(BANGER_SOURCE_DIR) + "/examples/demo/web.yaml");
    std::string text((std::istreambuf_iterator<char>(web)), std::istreambuf_iterator<char>());
    const std::string memory = "  memory: 256Mi";
    text.replace(text.find(memory), memory.size(), memory + "\n  runtime: qemu");
    web_ = text;
    dir_->write("m/web.yaml", web_);
    ASSERT_EQ(run_command({std::string(BANGER_SOURCE_DIR) + "/scripts/demo-manifests.sh", kCache,
                           dir_->path() + "/m/artifacts.yaml"})
                  .exit_code,
              0);
  }
  void TearDown() override {
    if (!dir_) return;
    banger({"delete", "-f", dir_->path() + "/m", "--ignore-not-found"});
    banger::test::kill_processes_mentioning(dir_->path());
  }
  CommandResult banger(std::vector<std::string> args) {
    std::vector<std::string> argv{BANGER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--state-dir", dir_->path() + "/state", "--run-dir", dir_->path() + "/run"});
    return run_command(argv, "", 180);
  }
  std::unique_ptr<TempDir> dir_;
  std::string web_;
};

TEST_F(QemuBoot, DemoServesItsPageThroughTheForwardRestartsAndLeavesNothing) {
  auto t0 = Clock::now();
  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  double page = wait_for_page(8080, std::chrono::seconds(120));
  double total = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_GE(page, 0) << "no page on 127.0.0.1:8080; console:\n" << banger({"logs", "web", "--tail", "30"}).out;
  std::printf("[  figure  ] apply to page answering: %.1f s (apply itself %.1f s)\n", total, total - page);
  auto g = banger({"get", "vm", "web", "-o", "json"});
  auto status = nlohmann::json::parse(g.out)["items"][0]["status"];
  // KVM only where it can boot this (ordinary Debian) guest: not on PVM.
  const std::string want_runtime = banger::judge_kvm(banger::probe_kvm()).usable ? "qemu/kvm" : "qemu/tcg";
  EXPECT_EQ(status["RUNTIME"], want_runtime);
  EXPECT_NE(a.out.find("runtime " + want_runtime + " ("), std::string::npos) << "the plan says the runtime:\n" << a.out;
  EXPECT_NE(a.out.find("started as " + want_runtime), std::string::npos) << a.out;
  int pid = std::stoi(std::string(status["PID"]));
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(st, line);) {
    if (line.rfind("VmHWM", 0) == 0) std::printf("[  figure  ] qemu %s\n", line.c_str());
  }
  auto d = banger({"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(d.exit_code, 0) << d.out;

  // A new kernel argument restarts the VM, and the page comes back.
  std::string changed = web_;
  const std::string runtime = "  runtime: qemu";
  changed.replace(changed.find(runtime), runtime.size(), runtime + "\n  kernelArgs: quiet");
  dir_->write("m/web.yaml", changed);
  d = banger({"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("~ VM/web (restart)"), std::string::npos) << d.out;
  // --wait returns once the readiness probe (http :80/) passed: the page
  // answers right away, with no polling of our own.
  auto t1 = Clock::now();
  a = banger({"apply", "-f", dir_->path() + "/m", "--wait"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  std::printf("[  figure  ] restart by apply --wait until ready: %.1f s\n",
              std::chrono::duration<double>(Clock::now() - t1).count());
  EXPECT_NE(a.out.find("VM/web: ready (http://10.88.0.10:80/: HTTP 200)"), std::string::npos) << a.out;
  EXPECT_FALSE(alive(pid)) << "the old qemu still runs";
  EXPECT_NE(http_get(8080).find("served by banger"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(banger({"get", "vm", "web", "-o", "json"}).out)["items"][0]["status"]["READY"],
            "true");

  // delete: no process, tap, rule, run file, disk or record left.
  g = banger({"get", "vm", "web", "-o", "json"});
  status = nlohmann::json::parse(g.out)["items"][0]["status"];
  pid = std::stoi(std::string(status["PID"]));
  std::string tap = status["TAP"], disk = status["DISK"];
  auto t2 = Clock::now();
  auto del = banger({"delete", "-f", dir_->path() + "/m"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  std::printf("[  figure  ] delete (powerdown and cleanup): %.1f s\n",
              std::chrono::duration<double>(Clock::now() - t2).count());
  EXPECT_FALSE(alive(pid));
  EXPECT_NE(run_command({"/bin/sh", "-c", "ip link show " + tap}).exit_code, 0);
  EXPECT_NE(run_command({"/bin/sh", "-c", "nft list table ip banger"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(disk));
  EXPECT_FALSE(fs::exists(dir_->path() + "/run/vms/web"));
  EXPECT_FALSE(fs::exists(dir_->path() + "/run/networks/demo")) << "the network's DNS server folder survived";
  EXPECT_EQ(banger({"get", "vm", "web"}).exit_code, 1);
  EXPECT_EQ(http_get(8080), "");
}

// Getting in: banger wrote the hostname, the demo's login key and a host key
// it pinned into the VM's disk (the demo image has Dropbear and no
// cloud-init); exec runs over SSH with strict host key checking.
TEST_F(QemuBoot, ExecRunsInTheGuestOverSshWithThePinnedHostKey) {
  const std::string m = dir_->path() + "/m";
  const std::string key = kCache + "/demo_ed25519";
  auto exec = [&](std::vector<std::string> cmd, const std::string& identity, const std::string& input = "") {
    std::vector<std::string> argv{BANGER_BIN, "exec", "-i", identity, "web", "--state-dir", dir_->path() + "/state",
                                  "--run-dir", dir_->path() + "/run", "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run_command(argv, input, 180);
  };
  // The upstream the network's dnsmasq forwards other names to.
  const std::string up_pid = dir_->path() + "/upstream.pid";
  ASSERT_EQ(run_command({"/bin/sh", "-c", "ip link set lo up && " + dnsmasq_bin() +
                                             " --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces "
                                             "--listen-address=127.0.0.53 --user=root --pid-file=" + up_pid +
                                             " --address=/outside.example/203.0.113.7"})
                .exit_code,
            0);
  std::string web = web_;
  web.replace(web.find("subnet: 10.88.0.0/24"), 20, "subnet: 10.88.0.0/24\n  dns: {upstreams: [127.0.0.53]}");
  dir_->write("m/web.yaml", web);
  auto t0 = Clock::now();
  auto a = banger({"apply", "-f", m});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto r = exec({"cat", "/etc/hostname"}, key);
  std::printf("[  figure  ] apply to first successful exec: %.1f s\n",
              std::chrono::duration<double>(Clock::now() - t0).count());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << banger({"logs", "web", "--tail", "30"}).out;
  EXPECT_EQ(r.out, "web\n");
  EXPECT_EQ(exec({"false"}, key).exit_code, 1);
  EXPECT_EQ(exec({"sh", "-c", "exit 7"}, key).exit_code, 7);  // several words keep their boundaries
  EXPECT_EQ(exec({"printf", "%s|", "it's", "a b"}, key).out, "it's|a b|");
  EXPECT_EQ(exec({"echo $((6*7)) | cat"}, key).out, "42\n");  // one word is a shell line, as with ssh
  EXPECT_EQ(exec({"cat"}, key, "through stdin\n").out, "through stdin\n");

  // Names from inside the guest, through the network's dnsmasq (the kernel
  // gave the guest its address as dns0): a VM's name, and an outside name
  // that dnsmasq asks its upstream for (a server of the test's own in this
  // namespace, standing in for the internet).
  r = exec({"nslookup", "web.vm"}, key);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("10.88.0.10"), std::string::npos) << r.out;
  // (Its AAAA question is REFUSED by the test's upstream, which knows no
  // server to ask about it; busybox nslookup then exits 1. The A answer counts.)
  r = exec({"nslookup", "outside.example"}, key);
  EXPECT_NE(r.out.find("Address: 203.0.113.7"), std::string::npos) << r.out << r.err;
  auto wide = banger({"get", "vms", "-o", "wide"});
  EXPECT_NE(wide.out.find("HTTP 200    ready"), std::string::npos) << wide.out;  // READINESS, then SSH

  // A new login key: the plan restarts the VM, the new key gets in, the old
  // one no longer does, and the host key stays pinned.
  const std::string known = dir_->path() + "/state/vms/web/known_hosts";
  std::ifstream kin(known);
  std::string pinned((std::istreambuf_iterator<char>(kin)), std::istreambuf_iterator<char>());
  const std::string key2 = dir_->path() + "/key2";
  ASSERT_EQ(run_command({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "second", "-f", key2}).exit_code, 0);
  ASSERT_EQ(run_command({"/bin/cp", key2 + ".pub", m + "/demo-key.pub"}).exit_code, 0);
  auto d = banger({"diff", "-f", m});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("sshKeys"), std::string::npos) << d.out;
  a = banger({"apply", "-f", m, "--wait"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  r = exec({"id", "-u"}, key2);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  EXPECT_EQ(exec({"true"}, key).exit_code, 255) << "the removed key still gets in";
  std::ifstream kin2(known);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(kin2)), std::istreambuf_iterator<char>()), pinned);

  // A guest whose key is not the pinned one is refused: here the pin moves.
  const std::string other = dir_->path() + "/other";
  ASSERT_EQ(run_command({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other}).exit_code, 0);
  std::ifstream oin(other + ".pub");
  std::string other_pub((std::istreambuf_iterator<char>(oin)), std::istreambuf_iterator<char>());
  std::ofstream(known) << "web " << other_pub;
  r = exec({"true"}, key2);
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_NE(r.err.find("REMOTE HOST IDENTIFICATION HAS CHANGED"), std::string::npos) << r.err;
}


// Issue 18's boot: the demo's kernel and root filesystem pushed to a real
// registry on 127.0.0.1 (the rootfs as one layer read out of the demo image
// with debugfs, the kernel as /boot/vmlinuz and /boot/initrd.img), then
// named only by `oci:` references. banger resolves, pulls, flattens to ext4
// and boots it; the page answers through the forward.
TEST_F(QemuBoot, ImageAndKernelFromALocalRegistryBootAndServeThePage) {
  if (std::string tool = banger::test::LocalRegistry::missing_tool(); !tool.empty()) {
    GTEST_SKIP() << tool << " is not installed";
  }
  banger::test::bring_up_loopback();
  const std::string d = dir_->path();
  banger::test::LocalRegistry registry(d);
  registry.start();
  ASSERT_EQ(run_command({"/bin/sh", "-c",
                         "mkdir -p " + d + "/rootfs " + d + "/kernel/boot && debugfs -R 'rdump / " + d + "/rootfs' " +
                             kCache + "/rootfs.ext4 >/dev/null 2>&1 && rm -rf " + d + "/rootfs/lost+found && cp " +
                             kCache + "/vmlinuz " + d + "/kernel/boot/vmlinuz && cp " + kCache + "/initrd.img " + d +
                             "/kernel/boot/initrd.img"})
                .exit_code,
            0);
  banger::test::OciLayout layout(d + "/layout");
  banger::test::Blob rootfs = layout.image_from_dirs({d + "/rootfs"});
  layout.tag("rootfs", rootfs);
  registry.push(layout, "rootfs", "demo/rootfs:1");
  banger::test::Blob kernel = layout.image_from_dirs({d + "/kernel"});
  layout.tag("kernel", kernel);
  registry.push(layout, "kernel", "demo/kernel:6.1");
  dir_->write("m/artifacts.yaml",
              "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: demo-kernel}\n"
              "spec: {oci: \"127.0.0.1:5000/demo/kernel:6.1\", insecure: true}\n---\n"
              "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: demo-rootfs}\n"
              "spec: {oci: \"127.0.0.1:5000/demo/rootfs:1\", insecure: true}\n");

  auto t0 = Clock::now();
  auto a = banger({"apply", "-f", d + "/m"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  const double applied = std::chrono::duration<double>(Clock::now() - t0).count();
  double page = wait_for_page(8080, std::chrono::seconds(120));
  ASSERT_GE(page, 0) << "no page on 127.0.0.1:8080; console:\n" << banger({"logs", "web", "--tail", "30"}).out;
  std::printf("[  figure  ] apply with pull+flatten: %.1f s; page %.1f s later\n", applied, page);
  auto g = banger({"get", "images", "-o", "wide"});
  EXPECT_NE(g.out.find(rootfs.digest), std::string::npos) << g.out;
  g = banger({"get", "kernels", "-o", "wide"});
  EXPECT_NE(g.out.find(kernel.digest), std::string::npos) << g.out;
  auto i = banger({"images"});
  EXPECT_NE(i.out.find("Image/demo-rootfs"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("Kernel/demo-kernel"), std::string::npos) << i.out;
  // Again: the digests are the recorded ones, nothing to do.
  auto t1 = Clock::now();
  auto again = banger({"apply", "-f", d + "/m"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  std::printf("[  figure  ] second apply (registry asked, nothing to do): %.2f s\n",
              std::chrono::duration<double>(Clock::now() - t1).count());
  ASSERT_EQ(banger({"delete", "-f", d + "/m"}).exit_code, 0);
  EXPECT_EQ(http_get(8080), "");
}

}  // namespace
