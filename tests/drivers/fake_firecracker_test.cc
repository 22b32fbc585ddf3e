// Tests of the fake-firecracker test double over its real unix socket. The
// double is what every hypervisor-driver test trusts in place of Firecracker,
// so these pin down that it is as strict as Firecracker v1.16.1: a client that
// passes against it must not be surprised by the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "../fake_firecracker/harness.h"
#include "netns.h"
#include "run_command.h"

namespace {

using banger::test::run_command;
using banger::test::TempDir;
using fakefc::harness::Client;
using fakefc::harness::Json;
using fakefc::harness::Process;
using fakefc::harness::read_file;
using fakefc::harness::read_record;

std::string ip_binary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "ip";
}

// A TAP in the test's private netns, deleted again by the destructor.
class Tap {
 public:
  explicit Tap(std::string name) : name_(std::move(name)) {
    auto r = run_command({ip_binary(), "tuntap", "add", "dev", name_, "mode", "tap"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ~Tap() { run_command({ip_binary(), "link", "del", name_}); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

class FakeFirecrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel_ = dir_.write("vmlinux", "not really an ELF kernel");
    rootfs_ = dir_.write("rootfs.ext4", std::string(4096, '\0'));
  }

  std::string sock() const { return dir_.path() + "/fc.sock"; }
  std::string out_log() const { return dir_.path() + "/stdout.log"; }

  // Starts a double on this test's socket and waits until it accepts.
  Process& start(const std::vector<std::string>& extra = {},
                 const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args{"--api-sock", sock(), "--id", "test-vm"};
    args.insert(args.end(), extra.begin(), extra.end());
    procs_.push_back(std::make_unique<Process>(FAKE_FIRECRACKER_BIN, args, env, out_log(),
                                               dir_.path() + "/stderr.log"));
    EXPECT_TRUE(procs_.back()->wait_socket(sock())) << read_file(out_log());
    return *procs_.back();
  }

  Json root_drive() const {
    return {{"drive_id", "rootfs"}, {"path_on_host", rootfs_}, {"is_root_device", true},
            {"is_read_only", false}};
  }
  void make_bootable(Client& c) {
    ASSERT_EQ(c.put("/boot-source", {{"kernel_image_path", kernel_}}).status, 204);
    ASSERT_EQ(c.put("/drives/rootfs", root_drive()).status, 204);
  }
  void start_instance(Client& c) {
    make_bootable(c);
    ASSERT_EQ(c.put("/actions", {{"action_type", "InstanceStart"}}).status, 204);
  }

  TempDir dir_;  // declared first: outlives the processes
  std::string kernel_, rootfs_;
  std::vector<std::unique_ptr<Process>> procs_;
};

// Expects a 400 whose fault_message contains `text`.
#define EXPECT_FAULT(response, text)                                          \
  do {                                                                        \
    auto r_ = (response);                                                     \
    EXPECT_EQ(r_.status, 400) << r_.body;                                     \
    EXPECT_NE(r_.fault().find(text), std::string::npos) << r_.body;           \
  } while (0)

TEST_F(FakeFirecrackerTest, VersionFlagPrintsVersionAndExitsZero) {
  auto r = run_command({FAKE_FIRECRACKER_BIN, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("Firecracker v1.16.1\n", 0), 0u) << r.out;
}

TEST_F(FakeFirecrackerTest, UnknownFlagExits153LikeTheRealParser) {
  auto r = run_command({FAKE_FIRECRACKER_BIN, "--api-sock", sock(), "--frobnicate"});
  EXPECT_EQ(r.exit_code, 153);
  EXPECT_NE(r.err.find("UnexpectedArgument(\"frobnicate\")"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Found argument 'frobnicate' which wasn't expected"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(sock()));
  // A value-taking flag without its value, and an invalid --id (Rust panic -> SIGABRT).
  EXPECT_EQ(run_command({FAKE_FIRECRACKER_BIN, "--api-sock"}).exit_code, 153);
  EXPECT_EQ(run_command({FAKE_FIRECRACKER_BIN, "--api-sock", sock(), "--id", "bad_id"}).signal, SIGABRT);
}

TEST_F(FakeFirecrackerTest, StaleSocketFileMakesItExitOneAndStays) {
  dir_.write("fc.sock", "");
  auto r = run_command({FAKE_FIRECRACKER_BIN, "--api-sock", sock()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE((r.out + r.err).find("Failed to open the API socket at: " + sock() +
                                 ". Check that it is not already used."),
            std::string::npos)
      << r.out << r.err;
  EXPECT_TRUE(std::filesystem::exists(sock()));
}

TEST_F(FakeFirecrackerTest, SocketFileExistsBeforeItAcceptsConnections) {
  Process proc(FAKE_FIRECRACKER_BIN, {"--api-sock", sock()},
               {{"FAKE_FIRECRACKER_LISTEN_DELAY_MS", "400"}}, out_log(), dir_.path() + "/err");
  while (!std::filesystem::exists(sock()) && !proc.wait_exit(2).exited) {
  }
  EXPECT_LT(fakefc::harness::connect_unix(sock()), 0);  // bound, not yet listening
  EXPECT_TRUE(proc.wait_socket(sock()));
}

TEST_F(FakeFirecrackerTest, ReportsInstanceInfoVersionAndDefaultsBeforeBoot) {
  start();
  Client c(sock());
  auto info = c.get("/");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(info.json(), Json::parse(R"({"id":"test-vm","state":"Not started",
                                        "vmm_version":"1.16.1","app_name":"Firecracker"})"));
  EXPECT_EQ(c.get("/version").json()["firecracker_version"], "1.16.1");
  auto mc = c.get("/machine-config").json();
  EXPECT_EQ(mc["vcpu_count"], 1);
  EXPECT_EQ(mc["mem_size_mib"], 128);
  EXPECT_EQ(c.get("/vm/config").json()["drives"], Json::array());
}

TEST_F(FakeFirecrackerTest, FullBootSequenceSucceedsOnOneKeepAliveConnection) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fcboot0");
  auto& proc = start();
  Client c(sock());
  const std::string log = dir_.path() + "/fc.log", metrics = dir_.path() + "/fc.metrics";
  EXPECT_EQ(c.put("/logger", {{"log_path", log}, {"level", "Info"}, {"show_level", true}}).status, 204);
  EXPECT_EQ(c.put("/metrics", {{"metrics_path", metrics}}).status, 204);
  EXPECT_EQ(c.put("/boot-source", {{"kernel_image_path", kernel_},
                                   {"boot_args", "console=ttyS0 reboot=k panic=1"}})
                .status,
            204);
  EXPECT_EQ(c.put("/drives/rootfs", root_drive()).status, 204);
  EXPECT_EQ(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()},
                                               {"guest_mac", "06:00:AC:14:00:02"}, {"mtu", 1500}})
                .status,
            204);
  EXPECT_EQ(c.put("/machine-config", {{"vcpu_count", 2}, {"mem_size_mib", 512}, {"smt", false}}).status, 204);
  auto boot = c.put("/actions", {{"action_type", "InstanceStart"}});
  EXPECT_EQ(boot.status, 204);
  EXPECT_TRUE(boot.body.empty());
  EXPECT_EQ(c.get("/").json()["state"], "Running");
  auto cfg = c.get("/vm/config").json();
  EXPECT_EQ(cfg["machine-config"]["vcpu_count"], 2);
  EXPECT_EQ(cfg["network-interfaces"][0]["guest_mac"], "06:00:ac:14:00:02");
  EXPECT_EQ(cfg["drives"][0]["path_on_host"], rootfs_);
  EXPECT_EQ(cfg["boot-source"]["boot_args"], "console=ttyS0 reboot=k panic=1");
  EXPECT_NE(read_file(out_log()).find("Guest booted (fake)"), std::string::npos);
  EXPECT_NE(read_file(log).find("Put request on \"/actions\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(metrics));
  EXPECT_FALSE(proc.wait_exit(50).exited);
}

TEST_F(FakeFirecrackerTest, RejectsUnknownFieldsAtAnyDepth) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 128}, {"vcpus", 2}}),
               "unknown field `vcpus`");
  Json drive = root_drive();
  drive["rate_limiter"] = {{"bandwidth", {{"size", 1}, {"refill_time", 1}, {"burst", 3}}}};
  EXPECT_FAULT(c.put("/drives/rootfs", drive), "unknown field `burst`");
  EXPECT_FAULT(c.put("/actions", {{"action_type", "InstanceStart"}, {"now", true}}),
               "unknown field `now`");
}

TEST_F(FakeFirecrackerTest, RejectsMissingRequiredFields) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}}), "missing field `mem_size_mib`");
  EXPECT_FAULT(c.put("/boot-source", {{"boot_args", "quiet"}}), "missing field `kernel_image_path`");
  EXPECT_FAULT(c.put("/drives/rootfs", {{"drive_id", "rootfs"}, {"path_on_host", rootfs_}}),
               "missing field `is_root_device`");
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}}), "missing field `host_dev_name`");
}

TEST_F(FakeFirecrackerTest, RejectsWrongTypesAndEnumValues) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", "2"}, {"mem_size_mib", 128}}),
               "invalid type: string \"2\", expected u8");
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 1.5}}), "expected usize");
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 128}, {"smt", nullptr}}),
               "invalid type: null, expected a boolean");
  Json drive = root_drive();
  drive["cache_type"] = "WriteThrough";
  EXPECT_FAULT(c.put("/drives/rootfs", drive), "unknown variant `WriteThrough`");
  EXPECT_FAULT(c.put("/actions", {{"action_type", "Reboot"}}), "unknown variant `Reboot`");
  // An Option<T> field given as null counts as absent, as with serde.
  Json nulls = root_drive();
  nulls["partuuid"] = nullptr;
  EXPECT_EQ(c.put("/drives/rootfs", nulls).status, 204);
}

TEST_F(FakeFirecrackerTest, RejectsVcpuCountOutOfRangeAndBadMemory) {
  start();
  Client c(sock());
  for (int n : {0, 33}) {
    EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", n}, {"mem_size_mib", 128}}),
                 "The number of vCPUs must be greater than 0");
  }
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 256}, {"mem_size_mib", 128}}),
               "invalid value: integer `256`, expected u8");
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 3}, {"mem_size_mib", 128}, {"smt", true}}),
               "even number if SMT");
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 0}}), "memory size");
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 129}, {"huge_pages", "2M"}}),
               "memory size");
  EXPECT_EQ(c.get("/machine-config").json()["vcpu_count"], 1);  // failed updates change nothing
  EXPECT_EQ(c.patch("/machine-config", {{"vcpu_count", 4}}).status, 204);
  EXPECT_EQ(c.get("/machine-config").json()["vcpu_count"], 4);
  EXPECT_FAULT(c.patch("/machine-config", Json::object()), "Empty PATCH request.");
}

TEST_F(FakeFirecrackerTest, RejectsPreBootCallsAfterStart) {
  REQUIRE_PRIVATE_NETNS();
  Tap tap("fcpost0");
  start();
  Client c(sock());
  start_instance(c);
  const char* post = "not supported after starting the microVM";
  EXPECT_FAULT(c.put("/boot-source", {{"kernel_image_path", kernel_}}), post);
  EXPECT_FAULT(c.put("/machine-config", {{"vcpu_count", 2}, {"mem_size_mib", 256}}), post);
  EXPECT_FAULT(c.patch("/machine-config", {{"vcpu_count", 2}}), post);
  EXPECT_FAULT(c.put("/logger", {{"level", "Debug"}}), post);
  EXPECT_FAULT(c.put("/metrics", {{"metrics_path", dir_.path() + "/m"}}), post);
  EXPECT_FAULT(c.put("/actions", {{"action_type", "InstanceStart"}}), post);
  // Post-boot PUT of devices is PCI hotplug, off without --enable-pci.
  EXPECT_FAULT(c.put("/drives/data", {{"drive_id", "data"}, {"path_on_host", rootfs_}, {"is_root_device", false}}),
               "PCI is not enabled");
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()}}),
               "PCI is not enabled");
  EXPECT_EQ(c.get("/").json()["state"], "Running");
}

TEST_F(FakeFirecrackerTest, InstanceStartNeedsBootSourceAndRootDrive) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/actions", {{"action_type", "InstanceStart"}}),
               "Cannot start microvm without kernel configuration.");
  ASSERT_EQ(c.put("/boot-source", {{"kernel_image_path", kernel_}}).status, 204);
  EXPECT_FAULT(c.put("/actions", {{"action_type", "InstanceStart"}}), "root block device");
  EXPECT_FAULT(c.put("/actions", {{"action_type", "SendCtrlAltDel"}}), "not supported before starting");
  EXPECT_EQ(c.get("/").json()["state"], "Not started");
}

TEST_F(FakeFirecrackerTest, RejectsDriveIdMismatchBadIdsAndSecondRoot) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/drives/rootfs", {{"drive_id", "other"}, {"path_on_host", rootfs_}, {"is_root_device", true}}),
               "The id from the path does not match the id from the body!");
  EXPECT_FAULT(c.put("/drives/root-fs", {{"drive_id", "root-fs"}, {"path_on_host", rootfs_}, {"is_root_device", true}}),
               "alphanumeric characters and underscores");
  EXPECT_FAULT(c.put("/drives/", root_drive()), "The ID cannot be empty.");
  ASSERT_EQ(c.put("/drives/rootfs", root_drive()).status, 204);
  EXPECT_FAULT(c.put("/drives/second", {{"drive_id", "second"}, {"path_on_host", rootfs_}, {"is_root_device", true}}),
               "A root block device already exists!");
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth1"}, {"host_dev_name", "x"}}),
               "The id from the path [eth0] does not match the id from the body [eth1]!");
}

TEST_F(FakeFirecrackerTest, RejectsMissingKernelInitrdAndDriveFiles) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/boot-source", {{"kernel_image_path", dir_.path() + "/nope"}}),
               "The kernel file cannot be opened: No such file or directory (os error 2)");
  EXPECT_FAULT(c.put("/boot-source", {{"kernel_image_path", kernel_}, {"initrd_path", dir_.path() + "/nope"}}),
               "The initrd file cannot be opened");
  Json drive = root_drive();
  drive["path_on_host"] = dir_.path() + "/missing.ext4";
  EXPECT_FAULT(c.put("/drives/rootfs", drive), "Error manipulating the backing file");
  EXPECT_EQ(c.get("/vm/config").json()["boot-source"]["kernel_image_path"], "");
}

TEST_F(FakeFirecrackerTest, RejectsMissingTapAndBusyTapAndBadMtu) {
  REQUIRE_PRIVATE_NETNS();
  start();
  Client c(sock());
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", "fcnotap0"}}),
               "Open tap device failed");
  EXPECT_EQ(c.get("/vm/config").json()["network-interfaces"], Json::array());
  Tap tap("fcbusy0");
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()}, {"mtu", 60}}),
               "MTU 60 is out of range [68, 65535]");
  EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()}, {"mtu", 70000}}),
               "expected u16");
  ASSERT_EQ(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()}}).status, 204);
  // A second VMM cannot attach a TAP that this one holds (EBUSY), as for real.
  std::filesystem::rename(sock(), dir_.path() + "/first.sock");
  start();
  Client other(sock());
  EXPECT_FAULT(other.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", tap.name()}}),
               "Device or resource busy");
}

TEST_F(FakeFirecrackerTest, RejectsBadAndDuplicateGuestMac) {
  REQUIRE_PRIVATE_NETNS();
  Tap a("fcmaca0"), b("fcmacb0");
  start();
  Client c(sock());
  for (const char* mac : {"06:00:ac:14:00", "06:00:ac:14:00:0g", "0600.ac14.0002", "6:0:ac:14:0:2"}) {
    EXPECT_FAULT(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", a.name()}, {"guest_mac", mac}}),
                 "The provided MAC address is invalid.");
  }
  ASSERT_EQ(c.put("/network-interfaces/eth0", {{"iface_id", "eth0"}, {"host_dev_name", a.name()}, {"guest_mac", "06:00:00:00:00:01"}}).status, 204);
  EXPECT_FAULT(c.put("/network-interfaces/eth1", {{"iface_id", "eth1"}, {"host_dev_name", b.name()}, {"guest_mac", "06:00:00:00:00:01"}}),
               "The MAC address is already in use: 06:00:00:00:00:01");
}

TEST_F(FakeFirecrackerTest, RejectsUnknownPathsAndWrongMethods) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.get("/nope"), "Invalid request method and/or path: GET nope.");
  EXPECT_FAULT(c.put("/machine", {{"vcpu_count", 1}}), "Invalid request method and/or path: PUT machine.");
  EXPECT_FAULT(c.call("DELETE", "/boot-source"), "Invalid request method and/or path: DELETE boot-source.");
  EXPECT_FAULT(c.patch("/boot-source", {{"kernel_image_path", kernel_}}), "Invalid request method and/or path");
  EXPECT_FAULT(c.call("GET", "/machine-config", "{}"), "GET request cannot have a body.");
  EXPECT_FAULT(c.call("PUT", "/machine-config"), "Empty PUT request.");
  // micro_http knows only GET, PUT, PATCH and DELETE; it answers 400 and we hang up.
  EXPECT_EQ(c.call("POST", "/actions", R"({"action_type":"InstanceStart"})").status, 400);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(FakeFirecrackerTest, RejectsMalformedJsonDuplicateKeysAndChunkedBodies) {
  start();
  Client c(sock());
  EXPECT_FAULT(c.call("PUT", "/machine-config", "{\"vcpu_count\": 1,"), "deserializing the json body");
  EXPECT_FAULT(c.call("PUT", "/machine-config", "[1, 128]"), "expected struct MachineConfig");
  EXPECT_FAULT(c.call("PUT", "/machine-config", R"({"vcpu_count":1,"vcpu_count":2,"mem_size_mib":128})"),
               "duplicate field `vcpu_count`");
  c.send_raw("PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "1f\r\n{\"action_type\":\"InstanceStart\"}\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 400);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(FakeFirecrackerTest, HandlesPipelinedRequestsAndExpectContinue) {
  start();
  Client c(sock());
  std::string body = R"({"vcpu_count":2,"mem_size_mib":256})";
  c.send_raw("GET / HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().json()["firecracker_version"], "1.16.1");
  c.send_raw("PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 100);
  c.send_raw(body);
  EXPECT_EQ(c.read_response().status, 204);
  auto big = c.call("PUT", "/boot-source", std::string(60000, ' '));
  EXPECT_FAULT(big, "is larger than the limit of 51200");
}

TEST_F(FakeFirecrackerTest, RecordsEveryRequestBeforeAnswering) {
  const std::string record = dir_.path() + "/requests.jsonl";
  start({}, {{"FAKE_FIRECRACKER_RECORD", record}});
  Client c(sock());
  c.put("/boot-source", {{"kernel_image_path", kernel_}});
  auto lines = read_record(record);  // already there: written before the answer
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], Json({{"method", "PUT"}, {"path", "/boot-source"},
                            {"body", {{"kernel_image_path", kernel_}}}, {"status", 204}}));
  c.get("/");
  c.call("PUT", "/machine-config", "{oops");
  c.put("/drives/x", {{"drive_id", "y"}, {"is_root_device", false}});
  lines = read_record(record);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], Json({{"method", "GET"}, {"path", "/"}, {"body", nullptr}, {"status", 200}}));
  EXPECT_EQ(lines[2]["body"], nullptr);
  EXPECT_EQ(lines[2]["status"], 400);
  EXPECT_EQ(lines[3]["body"]["drive_id"], "y");
  EXPECT_FALSE(std::filesystem::exists(sock() + ".requests.jsonl"));
}

TEST_F(FakeFirecrackerTest, RecordsNextToTheSocketByDefault) {
  start();
  Client c(sock());
  c.get("/");
  auto lines = read_record(sock() + ".requests.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["path"], "/");
}

TEST_F(FakeFirecrackerTest, SendCtrlAltDelMakesItExitZeroAndLeavesTheSocket) {
  auto& proc = start();
  Client c(sock());
  start_instance(c);
  EXPECT_EQ(c.put("/actions", {{"action_type", "SendCtrlAltDel"}}).status, 204);
  auto st = proc.wait_exit(5000);
  ASSERT_TRUE(st.exited);
  EXPECT_EQ(st.code, 0);
  EXPECT_TRUE(std::filesystem::exists(sock()));  // Firecracker never unlinks it
}

TEST_F(FakeFirecrackerTest, IgnoredCtrlAltDelKeepsRunningUntilKilled) {
  auto& proc = start({}, {{"FAKE_FIRECRACKER_IGNORE_CTRL_ALT_DEL", "1"}});
  Client c(sock());
  start_instance(c);
  EXPECT_EQ(c.put("/actions", {{"action_type", "SendCtrlAltDel"}}).status, 204);
  EXPECT_FALSE(proc.wait_exit(300).exited);
  kill(proc.pid(), SIGTERM);  // no handler: the default action ends it
  auto st = proc.wait_exit(5000);
  EXPECT_TRUE(st.exited);
  EXPECT_EQ(st.signal, SIGTERM);
}

TEST_F(FakeFirecrackerTest, ExitAfterStartSimulatesACrash) {
  auto& proc = start({}, {{"FAKE_FIRECRACKER_EXIT_AFTER_START", "50"}});
  Client c(sock());
  EXPECT_FALSE(proc.wait_exit(150).exited);  // nothing happens before InstanceStart
  start_instance(c);
  auto st = proc.wait_exit(5000);
  ASSERT_TRUE(st.exited);
  EXPECT_EQ(st.code, 1);
}

}  // namespace
