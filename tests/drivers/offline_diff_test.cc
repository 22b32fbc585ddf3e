// Offline diff for CI, end to end in this process's private network
// namespace: the real banger applies a fleet on the strict fake Firecracker,
// `state export` writes the host's state to a file, and `diff --against` run
// as an unprivileged user (nobody, no state dir, no host access) prints the
// plan the live `diff` prints on that host, with the same exit codes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "drivers/kvm.h"
#include "reconciler/runtime_choice.h"
#include "host_e2e.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::TempDir;

namespace {

struct Fleet {
  std::string web2_memory = "256Mi";
  bool web3 = false;
  bool worker = true;
};

class OfflineDiff : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    stop_timeout_ = "3s";
    // nobody must reach the manifests and the export (not the state dir,
    // which banger makes 0700: the offline diff must not need it).
    ASSERT_EQ(chmod(dir_->path().c_str(), 0755), 0);
    dir_->write("m/artifacts/vmlinux", std::string(4096, 'k'));
    ASSERT_EQ(run_command({"/usr/bin/truncate", "-s", "16M", dir_->path() + "/m/artifacts/rootfs.ext4"}).exit_code, 0);
    write(Fleet{});
  }

  void TearDown() override {
    if (!dir_) return;
    write(Fleet{});  // everything a test applied, so that delete -f names it
    HostE2E::TearDown();
  }

  // A small repository of manifests, one kind per file as examples/ has it.
  void write(const Fleet& f) {
    const std::string doc = "apiVersion: banger.dev/v1\n";
    dir_->write("m/network.yaml", doc + "kind: Network\nmetadata: {name: ci}\nspec: {subnet: 10.78.0.0/24}\n");
    dir_->write("m/artifacts.yaml", doc + "kind: Kernel\nmetadata: {name: k}\nspec: {path: artifacts/vmlinux}\n---\n" +
                                        doc + "kind: Image\nmetadata: {name: img}\nspec: {path: artifacts/rootfs.ext4}\n");
    auto vm = [&](const std::string& name, const std::string& extra) {
      return doc + "kind: VM\nmetadata: {name: " + name + "}\nspec: {kernel: k, image: img, network: ci, " +
             "runtime: firecracker, diskStrategy: copy" + extra + "}\n";
    };
    std::string web = vm("web-1", ", memory: 256Mi, ip: 10.78.0.11") + "---\n" +
                      vm("web-2", ", memory: " + f.web2_memory);
    if (f.web3) web += "---\n" + vm("web-3", ", memory: 128Mi");
    dir_->write("m/vms/web.yaml", web);
    fs::remove(dir_->path() + "/m/vms/worker.yaml");
    if (f.worker) dir_->write("m/vms/worker.yaml", vm("worker", ", state: stopped"));
    dir_->write("m/forwards.yaml", doc + "kind: PortForward\nmetadata: {name: web-1-http}\n"
                                         "spec: {vm: web-1, hostPort: 8081, guestPort: 80}\n");
  }

  // As nobody, with a state dir it could not even create: only the manifests
  // and the export file are read.
  CommandResult offline(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                  BANGER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--state-dir", "/nonexistent/banger-state", "--run-dir", "/nonexistent/banger-run"});
    return run_command(argv, "", 60);
  }

  std::string exported() { return dir_->path() + "/host-state.json"; }
  std::string manifests() { return manifest_dir(); }

  // Offline (as nobody) and live (as root) diff give the same bytes and exit code.
  CommandResult expect_same_as_live(std::vector<std::string> extra) {
    std::vector<std::string> off{"diff", "-f", manifests(), "--against", exported()};
    std::vector<std::string> live{"diff", "-f", manifests()};
    off.insert(off.end(), extra.begin(), extra.end());
    live.insert(live.end(), extra.begin(), extra.end());
    CommandResult o = offline(off), l = banger(live);
    EXPECT_EQ(o.out, l.out) << "offline and live diff differ";
    EXPECT_EQ(o.exit_code, l.exit_code) << o.err << l.err;
    EXPECT_EQ(o.err, "");
    return o;
  }
};

TEST_F(OfflineDiff, ExportFromAConvergedHostThenDiffChangedManifestsAsNobody) {
  auto a = banger({"apply", "-f", manifests()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;

  // Export: read-only (root), atomically to a file readable by CI.
  auto e = banger({"state", "export", "-o", "json", "--file", exported()});
  ASSERT_EQ(e.exit_code, 0) << e.out << e.err;
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(e.err, "exported 7 resources and 3 VMs to " + exported() + "\n");
  struct stat st {};
  ASSERT_EQ(stat(exported().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u) << "an export is for CI to read, and only root may change it";
  // Also under umask 000: never world-writable.
  mode_t old_mask = umask(0);
  auto open_mask = banger({"state", "export", "--file", exported()});
  umask(old_mask);
  ASSERT_EQ(open_mask.exit_code, 0) << open_mask.err;
  ASSERT_EQ(stat(exported().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  for (const auto& entry : fs::directory_iterator(dir_->path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << "temp file left behind";
  }
  auto j = nlohmann::json::parse(std::ifstream(exported()));
  EXPECT_EQ(j["kind"], "StateExport");
  EXPECT_EQ(j["schemaVersion"], 1);
  EXPECT_EQ(j["records"]["resources"].size(), 7u);
  EXPECT_EQ(j["host"]["running"], (nlohmann::json{"web-1", "web-2"}));
  EXPECT_EQ(j["host"]["links"].size(), 4u) << j["host"]["links"].dump();  // the bridge and 3 taps
  // To standard output, the same document.
  auto e2 = banger({"state", "export"});
  ASSERT_EQ(e2.exit_code, 0) << e2.err;
  auto j2 = nlohmann::json::parse(e2.out);
  j2["metadata"]["exportedAt"] = j["metadata"]["exportedAt"];
  j2["host"]["observedAtMs"] = j["host"]["observedAtMs"];  // the two moments differ
  EXPECT_EQ(j2, j);

  // Unchanged manifests: exit 0.
  auto d = expect_same_as_live({});
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.out, "No changes. The host matches the manifests.\n");

  // Changed manifests: a memory change, a new VM, a VM removed (with --prune).
  write(Fleet{"512Mi", true, false});
  // Each VM the plan starts says its runtime, judged on the exported host's
  // facts (this host's: no KVM, PVM or KVM).
  const banger::KvmVerdict kvm = banger::judge_kvm(banger::probe_kvm());
  const std::string runtime =
      "      runtime firecracker (runtime: firecracker" + (kvm.usable ? "" : ", although " + kvm.why) + ")\n";
  const std::string plan =
      "  ~ VM/web-2 (restart)\n"
      "      memory: 256Mi -> 512Mi  # restart\n" + runtime +
      "  + VM/web-3\n" + runtime;
  d = expect_same_as_live({});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_EQ(d.out, plan + "\nPlan: 1 to create, 1 to update, 0 to replace, 0 to repair, 0 to delete.\n");
  d = expect_same_as_live({"--prune"});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_EQ(d.out, plan + "  - VM/worker\n\nPlan: 1 to create, 1 to update, 0 to replace, 0 to repair, 1 to delete.\n");

  d = expect_same_as_live({"--prune", "-o", "json"});
  EXPECT_EQ(d.exit_code, 2);
  auto p = nlohmann::json::parse(d.out);
  EXPECT_EQ(p["summary"], (nlohmann::json{{"create", 1}, {"update", 1}, {"replace", 0}, {"repair", 0}, {"delete", 1}}));
  ASSERT_EQ(p["changes"].size(), 3u) << d.out;
  EXPECT_EQ(p["changes"][0]["action"], "update");
  EXPECT_EQ(p["changes"][0]["name"], "web-2");
  EXPECT_EQ(p["changes"][0]["restart"], true);
  EXPECT_EQ(p["changes"][0]["source"], manifests() + "/vms/web.yaml");
  EXPECT_EQ(p["changes"][0]["fields"],
            (nlohmann::json::array({{{"field", "memory"}, {"before", "256Mi"}, {"after", "512Mi"}, {"effect", "restart"}}})));
  EXPECT_EQ(p["changes"][1]["action"], "create");
  EXPECT_EQ(p["changes"][1]["name"], "web-3");
  EXPECT_EQ(p["changes"][2]["action"], "delete");
  EXPECT_EQ(p["changes"][2]["kind"], "VM");
  EXPECT_EQ(p["changes"][2]["name"], "worker");
  EXPECT_EQ(p["natDrift"], false);

  // The host did not change on the way.
  write(Fleet{});
  EXPECT_EQ(banger({"diff", "-f", manifests()}).exit_code, 0);
}

TEST_F(OfflineDiff, HostDriftInTheExportShowsAsTheLiveDiffShowsIt) {
  auto a = banger({"apply", "-f", manifests()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto g = banger({"get", "vm", "web-2", "-o", "json"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto status = nlohmann::json::parse(g.out)["items"][0]["status"];
  int pid = std::stoi(std::string(status["PID"]));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && banger::test::process_alive(pid); ++i) usleep(20000);
  ASSERT_EQ(run_command({"/bin/sh", "-c", "ip link set " + std::string(status["TAP"]) + " down"}).exit_code, 0);
  ASSERT_EQ(banger({"state", "export", "--file", exported()}).exit_code, 0);

  auto d = expect_same_as_live({});
  EXPECT_EQ(d.exit_code, 2);
  // The process line says how it ended when banger knows (restartPolicy).
  EXPECT_EQ(d.out.rfind("  ! VM/web-2 (repair)\n      tap " + std::string(status["TAP"]) +
                            " is down\n      process ",
                        0),
            0u)
      << d.out;
  EXPECT_NE(d.out.find("\n\nPlan: 0 to create, 0 to update, 0 to replace, 1 to repair, 0 to delete.\n"),
            std::string::npos)
      << d.out;
  expect_same_as_live({"-o", "json"});
}

TEST_F(OfflineDiff, BadExportFilesAreErrorsNamingTheFile) {
  dir_->write("garbage.json", "this is not json\n");
  auto d = offline({"diff", "-f", manifests(), "--against", dir_->path() + "/garbage.json"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.out, "");
  EXPECT_EQ(d.err.rfind("error: " + dir_->path() + "/garbage.json: not a banger state export: invalid JSON: "
                        "parse error at line 1, column 2",
                        0),
            0u)
      << d.err;

  dir_->write("plan.json", R"({"changes": [], "natDrift": false, "summary": {}})");
  d = offline({"diff", "-f", manifests(), "--against", dir_->path() + "/plan.json", "-o", "json"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.err, "error: " + dir_->path() +
                       "/plan.json: not a banger state export: expected kind: StateExport (write one with: "
                       "sudo banger state export --file FILE)\n");

  d = offline({"diff", "-f", manifests(), "--against", dir_->path() + "/missing.json"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.err, "error: " + dir_->path() + "/missing.json: cannot read: No such file or directory\n");

  // Hostile files: a FIFO, /dev/zero and a deeply nested document are clear
  // errors at once, never a hang, a growing buffer or a stack overflow.
  ASSERT_EQ(mkfifo((dir_->path() + "/fifo.json").c_str(), 0600), 0);
  fs::permissions(dir_->path() + "/fifo.json", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  for (const std::string& f : {dir_->path() + "/fifo.json", std::string("/dev/zero")}) {
    d = offline({"diff", "-f", manifests(), "--against", f});
    EXPECT_EQ(d.exit_code, 1) << f << ": " << d.err;
    EXPECT_EQ(d.err, "error: " + f + ": is not a regular file (expected a file written by banger state export)\n");
  }
  dir_->write("deep.json", R"({"apiVersion": "banger.dev/v1", "kind": "StateExport", "spec": {"nat": )" +
                               std::string(50000, '[') + std::string(50000, ']') + "}}");
  d = offline({"diff", "-f", manifests(), "--against", dir_->path() + "/deep.json"});
  EXPECT_EQ(d.signal, 0) << "crashed";
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.err, "error: " + dir_->path() + "/deep.json: not a banger state export: nested deeper than 64 levels\n");

  // As nobody: get reads a state dir that was never made as empty (and
  // makes none); a change names the state dir in use; doctor prints only
  // its own lines (libnftables is not asked, so it prints nothing itself).
  d = offline({"get"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.err, "No resources found.\n");
  EXPECT_FALSE(std::filesystem::exists("/nonexistent/banger-state"));
  d = offline({"apply", "-f", manifests()});
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.err.find("in /nonexistent/banger-state); run it with sudo"), std::string::npos) << d.err;
  d = offline({"doctor"});
  std::istringstream lines(d.out + d.err);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("ok ", 0) == 0 || line.rfind("warn ", 0) == 0 || line.rfind("fail ", 0) == 0 ||
                line.empty())
        << "stray line from doctor as nobody: " << line;
  }

  // Export as nobody of a state dir never made: an empty host, its NAT
  // rules marked unobserved (nobody cannot list nftables), and no state dir
  // made; a file nobody may not write is an error that writes nothing.
  d = offline({"state", "export"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  auto empty = nlohmann::json::parse(d.out);
  EXPECT_EQ(empty["host"]["nat"]["observed"], false) << d.out;
  EXPECT_TRUE(empty["records"]["resources"].empty()) << d.out;
  EXPECT_NE(d.err.find("nftables rules were not checked"), std::string::npos) << d.err;
  EXPECT_FALSE(fs::exists("/nonexistent/banger-state"));
  d = offline({"state", "export", "--file", dir_->path() + "/x.json"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("Permission denied"), std::string::npos) << d.err;
  EXPECT_FALSE(fs::exists(dir_->path() + "/x.json"));
}

}  // namespace
