// Runs against one host at the same time, as real processes: two applies of
// fleets that overlap, an apply racing a delete, and readers (get, diff,
// state export) while a run holds the host lock. The lock serialises the
// writers; whichever goes second converges from what the first left.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "drivers/process.h"
#include "host_e2e.h"
#include "state/host_lock.h"
#include "state/store.h"

namespace {

using banger::test::CommandResult;
using banger::test::sh;

// A network, its kernel and image, and `vms`; `shared` is in both fleets,
// with the same spec, so neither apply undoes the other.
std::string fleet(const std::string& root, const std::vector<std::string>& vms) {
  std::ostringstream m;
  m << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: par}\nspec: {subnet: 10.81.0.0/24}\n"
    << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << root
    << "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " << root
    << "/rootfs.ext4}\n";
  for (const auto& vm : vms) {
    m << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " << vm << "}\n"
      << "spec: {kernel: k, image: img, network: par, runtime: firecracker, diskStrategy: copy}\n";
  }
  return m.str();
}

class Concurrent : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 8 << 20);
    dir_->write("a/fleet.yaml", fleet(root(), {"p-1", "shared"}));
    dir_->write("b/fleet.yaml", fleet(root(), {"shared", "p-2"}));
    dir_->write("m/fleet.yaml", fleet(root(), {"p-1", "shared", "p-2"}));  // TearDown deletes the union
  }

  // Both at once; `first` gets a head start of a few ms so each order is tried.
  std::pair<CommandResult, CommandResult> race(const std::vector<std::string>& first,
                                               const std::vector<std::string>& second) {
    CommandResult a, b;
    std::thread ta([&] { a = banger(first); });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::thread tb([&] { b = banger(second); });
    ta.join();
    tb.join();
    return {a, b};
  }

  void expect_each_vm_once(const std::vector<std::string>& vms, const std::string& when) {
    for (const auto& vm : vms) {
      auto procs = banger::processes_under(root() + "/run/vms/" + vm);
      EXPECT_EQ(procs.size(), 1u) << vm << " has " << procs.size() << " hypervisors " << when;
    }
    // One tap per VM: a tap made twice (or left by the loser) shows here.
    EXPECT_EQ(sh("ip -o link | grep -c 'bg-[0-9a-f]\\{12\\}'").out, std::to_string(vms.size()) + "\n") << when;
  }
};

TEST_F(Concurrent, TwoAppliesOfOverlappingFleetsConvergeInEitherOrder) {
  const std::string a = root() + "/a", b = root() + "/b";
  for (int round = 0; round < 2; ++round) {
    auto [ra, rb] = round == 0 ? race({"apply", "-f", a}, {"apply", "-f", b}) : [&] {
      auto [x, y] = race({"apply", "-f", b}, {"apply", "-f", a});
      return std::pair{y, x};
    }();
    const std::string when = "in round " + std::to_string(round);
    EXPECT_EQ(ra.exit_code, 0) << when << ":\n" << ra.out << ra.err;
    EXPECT_EQ(rb.exit_code, 0) << when << ":\n" << rb.out << rb.err;
    EXPECT_EQ(banger({"diff", "-f", a}).exit_code, 0) << when;
    EXPECT_EQ(banger({"diff", "-f", b}).exit_code, 0) << when;
    expect_each_vm_once({"p-1", "shared", "p-2"}, when);
    auto del = banger({"delete", "-f", manifest_dir()});
    ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
    EXPECT_EQ(sh("ip -o link | grep -c bg-").out, "0\n") << "after the delete " << when;
  }
}

// An apply and a delete of the same fleet at once: whichever runs second
// decides, and the host matches it exactly.
TEST_F(Concurrent, AnApplyRacingADeleteLeavesTheHostAsTheSecondOneSays) {
  const std::string a = root() + "/a";
  ASSERT_EQ(banger({"apply", "-f", a}).exit_code, 0);
  auto [del, app] = race({"delete", "-f", a}, {"apply", "-f", a});
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(app.exit_code, 0) << app.out << app.err;
  auto d = banger({"diff", "-f", a});
  auto g = banger({"get", "vm", "-o", "json"});
  size_t vms = nlohmann::json::parse(g.out)["items"].size();
  if (d.exit_code == 0) {
    expect_each_vm_once({"p-1", "shared"}, "when the apply went second");
  } else {
    // The delete went second: nothing of the fleet is left.
    EXPECT_EQ(vms, 0u) << g.out;
    EXPECT_EQ(sh("ip -o link | grep -c bg-").out, "0\n");
    EXPECT_TRUE(banger::processes_under(root() + "/run").empty());
  }
}

// Readers take no lock: with the host lock held (as by a long apply), get,
// diff and state export answer at once from the store's committed state.
TEST_F(Concurrent, ReadersDoNotWaitForARunThatHoldsTheLock) {
  const std::string a = root() + "/a";
  ASSERT_EQ(banger({"apply", "-f", a}).exit_code, 0);
  banger::Store store(root() + "/state");
  banger::HostLock lock(root() + "/state", banger::HostLockOptions{.wait = false, .command = "banger apply"});
  auto t0 = std::chrono::steady_clock::now();
  auto g = banger({"get", "vm", "-o", "json"});
  auto d = banger({"diff", "-f", a});
  auto e = banger({"state", "export"});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(nlohmann::json::parse(g.out)["items"].size(), 2u) << g.out;
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["kind"], "StateExport");
  // Not a timing test: a reader that waited for the lock would wait forever
  // (run_command's 120 s cap), not a few seconds.
  EXPECT_LT(took, std::chrono::seconds(60));
}

}  // namespace
