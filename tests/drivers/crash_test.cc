// Crash-only convergence: banger is killed (SIGKILL, through the fault
// points of a BANGER_FAULTS build, common/fault.h) at every step a full
// apply or delete reaches, and the next run must converge: exit 0, no
// changes left, each VM's hypervisor exactly once, nothing foreign touched;
// and a delete afterwards leaves nothing behind. The steps are not listed
// here: a traced run (BANGER_FAULT_TRACE) lists them, so a new step is
// covered as soon as it exists.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "drivers/process.h"
#include "host_e2e.h"

namespace {

using banger::test::CommandResult;
using banger::test::sh;

const std::vector<std::string> kVms = {"c-1", "c-2"};

std::string fleet(const std::string& dir, const std::string& memory = "128Mi") {
  std::ostringstream m;
  m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: crash}\nspec: {subnet: 10.79.0.0/24}\n"
    << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << dir
    << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " << dir
    << "/rootfs.ext4}\n";
  for (const auto& vm : kVms) {
    m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << vm << "}\n"
      << "spec: {kernel: k, image: img, network: crash, memory: " << memory
      << ", runtime: firecracker, diskStrategy: copy}\n";
  }
  m << "---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: c-1-http}\n"
    << "spec: {vm: c-1, hostPort: 8091, guestPort: 80}\n";
  return m.str();
}

class Crash : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 8 << 20);
    dir_->write("m/fleet.yaml", fleet(root()));
    ASSERT_EQ(sh("ip tuntap add dev fg-tap mode tap && nft add table ip foreign && "
                 "nft add chain ip foreign c '{ type filter hook input priority 0; }' && "
                 "nft add rule ip foreign c tcp dport 9999 accept")
                  .exit_code,
              0);
    if (!fault_points_built()) GTEST_SKIP() << "banger was built without -DBANGER_FAULTS=ON (make test builds it so)";
  }

  void TearDown() override {
    unsetenv("BANGER_FAULT");
    unsetenv("BANGER_FAULT_TRACE");
    if (!dir_) return;
    HostE2E::TearDown();
    sh("ip link del fg-tap; nft delete table ip foreign");
  }

  // Only a traced apply can tell (validate and diff reach no step), so it
  // is asked once per process (once for all tests when the binary runs them together).
  bool fault_points_built() {
    static const bool built = [&] {
      bool reached = !traced({"apply", "-f", manifest_dir()}).empty();
      banger({"delete", "-f", manifest_dir()});
      return reached;
    }();
    return built;
  }

  // Runs banger with BANGER_FAULT_TRACE and returns the points it reached,
  // each once, in the order first reached.
  std::vector<std::string> traced(const std::vector<std::string>& args) {
    const std::string trace = root() + "/trace";
    std::remove(trace.c_str());
    setenv("BANGER_FAULT_TRACE", trace.c_str(), 1);
    auto r = banger(args);
    unsetenv("BANGER_FAULT_TRACE");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<std::string> out;
    std::ifstream f(trace);
    for (std::string line; std::getline(f, line);) {
      if (std::find(out.begin(), out.end(), line) == out.end()) out.push_back(line);
    }
    return out;
  }

  // `banger args` killed at `point`: it must die by SIGKILL there.
  void killed_at(const std::string& point, const std::vector<std::string>& args) {
    setenv("BANGER_FAULT", point.c_str(), 1);
    CommandResult r = banger(args);
    unsetenv("BANGER_FAULT");
    EXPECT_EQ(r.signal, SIGKILL) << point << ": exit " << r.exit_code << "\n" << r.out << r.err;
  }

  void expect_converged(const std::string& after) {
    auto a = banger({"apply", "-f", manifest_dir()});
    EXPECT_EQ(a.exit_code, 0) << "apply after " << after << ":\n" << a.out << a.err;
    auto d = banger({"diff", "-f", manifest_dir()});
    EXPECT_EQ(d.exit_code, 0) << "diff after " << after << ":\n" << d.out << d.err;
    for (const auto& vm : kVms) {
      auto procs = banger::processes_under(root() + "/run/vms/" + vm);
      EXPECT_EQ(procs.size(), 1u) << vm << " has " << procs.size() << " hypervisors after " << after;
    }
    expect_foreign_untouched(after);
  }

  void expect_clean_after_delete(const std::string& after) {
    auto del = banger({"delete", "-f", manifest_dir()});
    EXPECT_EQ(del.exit_code, 0) << "delete after " << after << ":\n" << del.out << del.err;
    expect_nothing_left(after);
  }

  void expect_nothing_left(const std::string& after) {
    std::string links = sh("ip -o link").out;
    EXPECT_EQ(links.find("bg-"), std::string::npos) << "after " << after << ":\n" << links;
    EXPECT_NE(sh("nft list table ip banger").exit_code, 0) << "table ip banger left after " << after;
    EXPECT_TRUE(banger::processes_under(root() + "/run").empty()) << "a VM process is left after " << after;
    auto g = banger({"get", "-o", "json"});
    EXPECT_EQ(nlohmann::json::parse(g.out, nullptr, false)["items"].size(), 0u) << after << ": " << g.out;
    expect_foreign_untouched(after);
  }

  void expect_foreign_untouched(const std::string& after) {
    EXPECT_EQ(sh("ip link show fg-tap").exit_code, 0) << "foreign tap touched after " << after;
    EXPECT_NE(sh("nft list table ip foreign").out.find("tcp dport 9999 accept"), std::string::npos)
        << "foreign table touched after " << after;
  }
};

TEST_F(Crash, ApplyKilledAtEveryStepConvergesOnTheNextApply) {
  std::vector<std::string> points = traced({"apply", "-f", manifest_dir()});
  expect_clean_after_delete("the traced apply");
  ASSERT_GE(points.size(), 10u);
  std::cout << "fault points in a full apply: " << points.size() << "\n";
  for (const std::string& p : points) {
    killed_at(p, {"apply", "-f", manifest_dir()});
    expect_converged("a kill at " + p);
    expect_clean_after_delete("a kill at " + p);
    if (HasFailure()) break;  // one broken step is enough to read
  }
}

// A delete killed at any step: the next apply converges from what is left,
// and a delete then removes everything.
TEST_F(Crash, DeleteKilledAtEveryStepConvergesOnTheNextApply) {
  ASSERT_EQ(banger({"apply", "-f", manifest_dir()}).exit_code, 0);
  std::vector<std::string> points = traced({"delete", "-f", manifest_dir()});
  expect_nothing_left("the traced delete");
  ASSERT_GE(points.size(), 5u);
  std::cout << "fault points in a full delete: " << points.size() << "\n";
  for (const std::string& p : points) {
    ASSERT_EQ(banger({"apply", "-f", manifest_dir()}).exit_code, 0) << "before a kill at " << p;
    killed_at(p, {"delete", "-f", manifest_dir()});
    expect_converged("a delete killed at " + p);
    expect_clean_after_delete("a delete killed at " + p);
    if (HasFailure()) break;
  }
}

// After an apply killed half way, delete -f removes what was made. A VM the
// killed run recorded but never applied counts as found (it is removed, not
// reported missing); the forward it never reached needs --ignore-not-found,
// as in kubectl.
TEST_F(Crash, DeleteAfterAnApplyKilledHalfWayRemovesWhatWasMade) {
  killed_at("after:vm.record", {"apply", "-f", manifest_dir()});
  auto one = banger({"delete", "vm", "c-1"});
  auto two = banger({"delete", "vm", "c-2"});
  EXPECT_TRUE(one.exit_code == 0 || two.exit_code == 0) << one.err << two.err;
  for (const auto& r : {one, two}) EXPECT_EQ(r.err.find("Error: VM/c-1 not found\nError: VM/c-1"), std::string::npos);
  killed_at("after:process.start", {"apply", "-f", manifest_dir()});
  auto del = banger({"delete", "-f", manifest_dir(), "--ignore-not-found"});
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  expect_nothing_left("delete -f after a killed apply");
}

// An update that restarts both VMs (memory) and a replace of one
// (--replace, a new disk): killed at each of their steps, the next apply of
// the same change converges.
TEST_F(Crash, RestartAndReplaceKilledAtEveryStepConvergeOnTheNextApply) {
  struct Case {
    std::string name;
    std::string memory;
    std::vector<std::string> extra;
  };
  for (const Case& c : {Case{"restart", "256Mi", {}}, Case{"replace", "128Mi", {"--replace", "VM/c-2"}}}) {
    auto apply_args = [&] {
      std::vector<std::string> a{"apply", "-f", manifest_dir()};
      a.insert(a.end(), c.extra.begin(), c.extra.end());
      return a;
    };
    // From the converged fleet at 128Mi, to the change.
    auto reset = [&] {
      dir_->write("m/fleet.yaml", fleet(root()));
      ASSERT_EQ(banger({"apply", "-f", manifest_dir()}).exit_code, 0);
      dir_->write("m/fleet.yaml", fleet(root(), c.memory));
    };
    reset();
    std::vector<std::string> points = traced(apply_args());
    ASSERT_GE(points.size(), 4u) << c.name;
    std::cout << "fault points in a " << c.name << ": " << points.size() << "\n";
    for (const std::string& p : points) {
      reset();
      killed_at(p, apply_args());
      auto a = banger(apply_args());
      EXPECT_EQ(a.exit_code, 0) << c.name << " after a kill at " << p << ":\n" << a.out << a.err;
      expect_converged(c.name + " killed at " + p);
      if (HasFailure()) break;
    }
    expect_clean_after_delete(c.name);
  }
}

// The unrecorded-hypervisor gap: killed after the process started and
// before its record, the next apply must not start a second one.
TEST_F(Crash, AHypervisorStartedButNotRecordedIsReapedNotDoubled) {
  killed_at("after:process.start", {"apply", "-f", manifest_dir()});
  int orphans = 0;
  for (const auto& vm : kVms) orphans += static_cast<int>(banger::processes_under(root() + "/run/vms/" + vm).size());
  // Two workers start VMs side by side: the kill leaves one or both.
  EXPECT_GE(orphans, 1) << "the kill should leave an unrecorded hypervisor";
  expect_converged("a kill after process.start");
  expect_clean_after_delete("a kill after process.start");
}

// The orphan gap: killed after the bridge was made and before its Network
// was recorded, then the network is dropped from the manifests. No record
// names Network/crash, yet its owned record does: diff shows the leftover
// and apply removes it (the journal's undo half, reconciler/interrupted.h).
TEST_F(Crash, ABridgeWhoseNetworkWasNeverRecordedIsRemovedOnceNoManifestWantsIt) {
  killed_at("after:bridge.ensure", {"apply", "-f", manifest_dir()});
  ASSERT_EQ(sh("ip link show bg-crash").exit_code, 0) << "the kill should leave the bridge";
  // The kernel and image stay (the killed run may have recorded them).
  dir_->write("m/fleet.yaml", "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " +
                                  root() + "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\n" +
                                  "metadata: {name: img}\nspec: {path: " + root() + "/rootfs.ext4}\n");
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("bridge bg-crash of Network/crash (no record)"), std::string::npos) << d.out;
  auto a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(sh("ip link show bg-crash").exit_code, 0) << "the orphaned bridge is still there:\n" << a.out;
  auto again = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  auto del = banger({"delete", "-f", manifest_dir()});
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  expect_nothing_left("the orphaned bridge's sweep");
}

}  // namespace

namespace {

// The points a traced run reached, every time (not only the first).
std::vector<std::string> trace_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

}  // namespace

// A delete asks every VM to shut down before it waits for any of them, so
// that the guests' shutdowns overlap instead of adding up.
TEST_F(Crash, DeleteAsksEveryVmToShutDownBeforeWaitingForAny) {
  ASSERT_EQ(banger({"apply", "-f", manifest_dir()}).exit_code, 0);
  const std::string trace = root() + "/trace-all";
  setenv("BANGER_FAULT_TRACE", trace.c_str(), 1);
  auto r = banger({"delete", "-f", manifest_dir()});
  unsetenv("BANGER_FAULT_TRACE");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  size_t asked = 0, stops = 0;
  for (const std::string& line : trace_lines(trace)) {
    if (line == "after:process.ask_stop") {
      EXPECT_EQ(stops, 0u) << "a VM was asked to shut down after another's stop had begun";
      ++asked;
    }
    if (line == "before:process.stop") ++stops;
  }
  EXPECT_EQ(asked, kVms.size());
  EXPECT_EQ(stops, kVms.size());
  EXPECT_NE(r.out.find("removed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("killed"), std::string::npos) << "the guests shut down when asked:\n" << r.out;
  expect_nothing_left("the delete");
}

// A guest that ignores Ctrl-Alt-Del is killed once --stop-timeout has run
// out, and the report says so.
TEST_F(Crash, AGuestThatIgnoresTheShutdownIsKilledAndReported) {
  setenv("FAKE_FIRECRACKER_IGNORE_CTRL_ALT_DEL", "1", 1);  // inherited by the VMs apply starts
  auto a = banger({"apply", "-f", manifest_dir()});
  unsetenv("FAKE_FIRECRACKER_IGNORE_CTRL_ALT_DEL");
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  stop_timeout_ = "300ms";
  auto r = banger({"delete", "-f", manifest_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  size_t killed = 0;
  for (size_t at = r.out.find("killed: no shutdown within --stop-timeout"); at != std::string::npos;
       at = r.out.find("killed: no shutdown within --stop-timeout", at + 1)) {
    ++killed;
  }
  EXPECT_EQ(killed, kVms.size()) << r.out;
  expect_nothing_left("a delete that had to kill");
}
