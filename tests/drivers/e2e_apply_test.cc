// End to end, inside this process's private network namespace: the real
// banger binary applies a fleet (a network, 3 VMs on the strict fake
// Firecracker, 3 port forwards), repairs drift, restarts on a memory change,
// prunes, and deletes everything, while a foreign tap and a foreign nft table
// stay untouched.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "drivers/process.h"
#include "host_e2e.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::sh;
using banger::test::TempDir;

namespace {

bool alive(int pid) { return banger::test::process_alive(pid); }

std::string manifests(const std::string& dir, const std::string& web2_memory, bool with_web3) {
  std::ostringstream m;
  m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: e2e}\nspec: {subnet: 10.77.0.0/24}\n"
    << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir
    << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " << dir
    << "/rootfs.ext4}\n";
  auto vm = [&](const std::string& name, const std::string& mem, const std::string& extra) {
    m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << name << "}\n"
      << "spec: {kernel: k, image: img, network: e2e, memory: " << mem
      << ", runtime: firecracker, diskStrategy: copy" << extra << "}\n";
  };
  auto fwd = [&](const std::string& name, const std::string& vmname, int port, const std::string& addr) {
    m << "---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: " << name << "}\n"
      << "spec: {vm: " << vmname << ", hostPort: " << port << ", guestPort: 80, hostAddress: " << addr << "}\n";
  };
  vm("web-1", "256Mi", ", ip: 10.77.0.11, vcpus: 2");
  vm("web-2", web2_memory, "");
  if (with_web3) vm("web-3", "128Mi", "");
  fwd("web-1-http", "web-1", 8081, "0.0.0.0");
  fwd("web-2-http", "web-2", 8082, "127.0.0.1");
  if (with_web3) fwd("web-3-http", "web-3", 8083, "0.0.0.0");
  return m.str();
}

class E2E : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    stop_timeout_ = "3s";
    sparse_file("rootfs.ext4", 16 << 20);
    write(manifests(root(), "256Mi", true));
    // Foreign objects banger must never touch.
    ASSERT_EQ(sh("ip tuntap add dev fg-tap mode tap && nft add table ip foreign && "
                 "nft add chain ip foreign c '{ type filter hook input priority 0; }' && "
                 "nft add rule ip foreign c tcp dport 9999 accept")
                  .exit_code,
              0);
  }

  // A failed assertion ends the test early: delete what banger made, then
  // kill whatever still runs from this test's folder.
  void TearDown() override {
    if (!dir_) return;
    HostE2E::TearDown();
    sh("ip link del fg-tap; nft delete table ip foreign");
  }

  void write(const std::string& text) { dir_->write("m/fleet.yaml", text); }

  nlohmann::json vm_status(const std::string& name) {
    auto r = banger({"get", "vm", name, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    return j["items"][0]["status"];
  }

  // What banger asked the fake Firecracker, without the GET / readiness probes.
  std::vector<nlohmann::json> requests(const std::string& vm) {
    std::ifstream f(dir_->path() + "/run/vms/" + vm + "/firecracker.sock.requests.jsonl");
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(f, line)) {
      auto j = nlohmann::json::parse(line);
      if (j["method"] != "GET") out.push_back(j);
    }
    return out;
  }

  void expect_foreign_untouched() {
    EXPECT_EQ(sh("ip link show fg-tap").exit_code, 0) << "foreign tap was touched";
    EXPECT_NE(sh("nft list table ip foreign").out.find("tcp dport 9999 accept"), std::string::npos)
        << "foreign table was touched";
  }

  void expect_no_changes() {
    auto d = banger({"diff", "-f", manifest_dir()});
    EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
    EXPECT_NE(d.out.find("No changes"), std::string::npos) << d.out;
  }
};

TEST_F(E2E, ApplyRepairRestartPruneDelete) {
  // 1. apply the fleet
  auto a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("Plan: 9 to create"), std::string::npos) << a.out;
  auto addr = sh("ip -o -4 addr show dev bg-e2e").out;
  EXPECT_NE(addr.find("10.77.0.1/24"), std::string::npos) << addr;
  std::string taps = sh("ip -o link show master bg-e2e").out;
  EXPECT_EQ(std::count(taps.begin(), taps.end(), '\n'), 3) << taps;
  EXPECT_EQ(taps.find("DOWN"), std::string::npos) << taps;
  std::string rules = sh("nft list table ip banger").out;
  EXPECT_NE(rules.find("dnat to 10.77.0.11:80"), std::string::npos) << rules;
  EXPECT_NE(rules.find("masquerade"), std::string::npos) << rules;
  EXPECT_EQ(sh("cat /proc/sys/net/ipv4/conf/bg-e2e/route_localnet").out, "1\n");

  // Each fake Firecracker got exactly the expected configuration, in order.
  auto web1 = vm_status("web-1");
  std::string tap1 = web1["TAP"];
  auto reqs = requests("web-1");
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0]["path"], "/machine-config");
  EXPECT_EQ(reqs[0]["body"], (nlohmann::json{{"vcpu_count", 2}, {"mem_size_mib", 256}}));
  EXPECT_EQ(reqs[1]["path"], "/boot-source");
  EXPECT_EQ(reqs[1]["body"]["kernel_image_path"], dir_->path() + "/vmlinux");
  EXPECT_EQ(reqs[1]["body"]["boot_args"],
            "console=ttyS0 reboot=k panic=1 ip=10.77.0.11::10.77.0.1:255.255.255.0:web-1:eth0:off:10.77.0.1");
  EXPECT_EQ(reqs[2]["path"], "/drives/rootfs");
  EXPECT_EQ(reqs[2]["body"]["path_on_host"], web1["DISK"]);
  EXPECT_EQ(reqs[2]["body"]["is_root_device"], true);
  EXPECT_EQ(reqs[3]["path"], "/network-interfaces/eth0");
  EXPECT_EQ(reqs[3]["body"]["host_dev_name"], tap1);
  EXPECT_EQ(reqs[3]["body"]["guest_mac"], "06:00:0A:4D:00:0B");
  EXPECT_EQ(reqs[4]["body"], (nlohmann::json{{"action_type", "InstanceStart"}}));
  for (const auto& r : reqs) EXPECT_EQ(r["status"], 204);
  expect_no_changes();
  expect_foreign_untouched();

  // 2. a VM process killed -> repair
  int pid = std::stoi(std::string(web1["PID"]));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && alive(pid); ++i) usleep(20000);
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("! VM/web-1 (repair)\n      process killed by signal 9; restart 1 in a row"),
            std::string::npos)
      << d.out;
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(vm_status("web-1")["PID"], std::to_string(pid));
  expect_no_changes();

  // 3. a tap deleted and a rule deleted by hand -> repaired
  ASSERT_EQ(sh("ip link del " + tap1).exit_code, 0);
  std::smatch m;
  std::string listing = sh("nft -a list chain ip banger prerouting").out;
  ASSERT_TRUE(std::regex_search(listing, m, std::regex("dport 8082 .*# handle ([0-9]+)"))) << listing;
  ASSERT_EQ(sh("nft delete rule ip banger prerouting handle " + m[1].str()).exit_code, 0);
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("tap " + tap1 + " is missing"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("! PortForward/web-2-http (repair)"), std::string::npos) << d.out;
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(sh("ip -o link show master bg-e2e").out.find(tap1), std::string::npos);
  expect_no_changes();

  // 4. memory change -> restart
  std::string pid2 = vm_status("web-2")["PID"];
  write(manifests(dir_->path(), "512Mi", true));
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.out.find("~ VM/web-2 (restart)\n      memory: 256Mi -> 512Mi  # restart"), std::string::npos)
      << d.out;
  a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(vm_status("web-2")["PID"], pid2);
  reqs = requests("web-2");  // the record file keeps both boots: the last config counts
  nlohmann::json last_config;
  for (const auto& r : reqs) {
    if (r["path"] == "/machine-config") last_config = r["body"];
  }
  EXPECT_EQ(last_config["mem_size_mib"], 512);
  expect_no_changes();

  // 5. web-3 gone from the manifests: apply keeps it, apply --prune removes all it had
  auto web3 = vm_status("web-3");
  write(manifests(dir_->path(), "512Mi", false));
  a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(kill(std::stoi(std::string(web3["PID"])), 0), 0) << "apply without --prune deleted web-3";
  a = banger({"apply", "-f", manifest_dir(), "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_FALSE(alive(std::stoi(std::string(web3["PID"])))) << "web-3's process survived";
  EXPECT_NE(sh("ip link show " + std::string(web3["TAP"])).exit_code, 0) << "web-3's tap survived";
  EXPECT_EQ(sh("nft list table ip banger").out.find("8083"), std::string::npos);
  EXPECT_FALSE(fs::exists(std::string(web3["DISK"])));
  EXPECT_FALSE(fs::exists(dir_->path() + "/run/vms/web-3"));
  EXPECT_EQ(banger({"get", "vm", "web-3"}).exit_code, 1);
  expect_no_changes();
  expect_foreign_untouched();

  // 6. delete everything -> the namespace is as it was
  std::vector<int> pids;
  for (const char* vm : {"web-1", "web-2"}) pids.push_back(std::stoi(std::string(vm_status(vm)["PID"])));
  auto del = banger({"delete", "-f", manifest_dir()});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(sh("ip -o link").out.find("bg-"), std::string::npos) << sh("ip -o link").out;
  EXPECT_NE(sh("nft list table ip banger").exit_code, 0) << "table banger survived";
  for (int p : pids) EXPECT_FALSE(alive(p)) << "VM process " << p << " survived";
  EXPECT_TRUE(fs::is_empty(dir_->path() + "/run/vms") || !fs::exists(dir_->path() + "/run/vms"));
  // The network's DNS server, its files and its record went with it.
  EXPECT_FALSE(fs::exists(dir_->path() + "/run/networks/e2e"));
  EXPECT_TRUE(banger::processes_under(dir_->path() + "/run/networks").empty()) << "dnsmasq survived";
  EXPECT_EQ(banger({"state", "export"}).out.find("dns-server"), std::string::npos);
  auto g = banger({"get", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(g.out)["items"].size(), 0u) << g.out;
  expect_foreign_untouched();
}

}  // namespace
