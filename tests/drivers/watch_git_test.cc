// `banger watch --git URL`: a bare repository made by the test (with the git
// command, in the test only), watched over file:// in the test's private
// network namespace with the strict fake Firecracker. Commits converge the
// host; an invalid commit, a commit without the folder, and an unreachable
// repository change nothing; a force-push to an older commit converges back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "host_e2e.h"
#include "watcher_process.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::eventually;
using banger::test::run_command;
using namespace std::chrono_literals;

namespace {

class GitWatch : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    if (run_command({"/bin/sh", "-c", "command -v git"}).exit_code != 0) GTEST_SKIP() << "git is missing";
    sparse_file("rootfs.ext4", 4 << 20);
    origin_ = root() + "/origin.git";
    work_ = root() + "/work";
    ASSERT_EQ(git({"init", "-q", "--bare", "-b", "main", origin_}).exit_code, 0);
    ASSERT_EQ(git({"clone", "-q", origin_, work_}).exit_code, 0);
  }

  void TearDown() override {
    if (!dir_) return;
    watcher_.stop();
    if (HasFailure()) std::cerr << "--- watcher log ---\n" << watcher_.log() << "-------------------\n";
    for (const char* vm : {"web-1", "web-2", "web-3"}) banger({"delete", "vm", vm, "--ignore-not-found"});
    for (auto [kind, name] : std::vector<std::pair<const char*, const char*>>{
             {"image", "img"}, {"kernel", "k"}, {"network", "g"}}) {
      banger({"delete", kind, name, "--ignore-not-found"});
    }
    HostE2E::TearDown();
  }

  CommandResult git(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/git", "-c", "user.name=t", "-c", "user.email=t@example.com"};
    if (fs::exists(work_)) argv.insert(argv.end(), {"-C", work_});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }

  // Writes work/PATH, commits everything as `message`, pushes; the commit id.
  std::string commit(const std::map<std::string, std::string>& files, const std::string& message,
                     const std::vector<std::string>& removed = {}) {
    for (const auto& [path, text] : files) {
      fs::create_directories(fs::path(work_ + "/" + path).parent_path());
      std::ofstream(work_ + "/" + path) << text;
    }
    for (const auto& p : removed) fs::remove_all(work_ + "/" + p);
    EXPECT_EQ(git({"add", "-A"}).exit_code, 0);
    EXPECT_EQ(git({"commit", "-q", "-m", message}).exit_code, 0);
    auto push = git({"push", "-q", "origin", "main"});
    EXPECT_EQ(push.exit_code, 0) << push.err;
    std::string id = git({"rev-parse", "HEAD"}).out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  std::string base() const {
    return "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: g}\nspec: {subnet: 10.81.0.0/24}\n"
           "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " + root() +
           "/vmlinux}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: " + root() +
           "/rootfs.ext4}\n";
  }
  static std::string vm(const std::string& name, const std::string& memory = "128Mi") {
    return "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " + name + "}\nspec: {kernel: k, image: img, "
           "network: g, memory: " + memory + ", runtime: firecracker, diskStrategy: copy}\n";
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{BANGER_BIN, "watch", "--git", "file://" + origin_, "--path", "fleet",
                                  "--interval", "200ms", "--resync", "30s",
                                  "--state-dir", root() + "/state", "--run-dir", root() + "/run",
                                  "--firecracker", FAKE_FIRECRACKER_BIN, "--stop-timeout", "2s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(watcher_.start(argv, root() + "/watch.log"));
  }

  bool running(const std::string& name) {
    auto r = banger({"get", "vm", name, "-o", "json"});
    if (r.exit_code != 0) return false;
    return nlohmann::json::parse(r.out)["items"][0]["status"]["STATE"] == "Running";
  }
  bool exists(const std::string& name) { return banger({"get", "vm", name}).exit_code == 0; }
  std::string converged() {
    std::ifstream f(root() + "/state/git/status.json");
    if (!f) return "";
    return nlohmann::json::parse(f, nullptr, false).value("commit", "");
  }

  std::string origin_, work_;
  banger::test::WatcherProcess watcher_;
};

TEST_F(GitWatch, CommitsConvergeBadOnesChangeNothingAForcePushGoesBackAndAnOutageKeepsTheLastGood) {
  const std::string one = commit({{"fleet/base.yaml", base()}, {"fleet/web-1.yaml", vm("web-1")},
                                  {"README.md", "not a manifest, outside --path\n"}},
                                 "one");
  start({"--metrics-address", "127.0.0.1:19475"});
  ASSERT_TRUE(eventually([&] { return running("web-1") && converged() == one; })) << "never converged to one";
  auto listing = banger({"get"});
  EXPECT_NE(listing.out.find("Source: git file://" + origin_ + " main path fleet: commit " + one.substr(0, 12) +
                             " \"one\", converged "),
            std::string::npos)
      << listing.out;
  auto json = nlohmann::json::parse(banger({"get", "-o", "json"}).out);
  EXPECT_EQ(json["source"]["commit"], one) << json.dump();
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = banger::test::http_get_local(19475, "/metrics");
    return metrics.find("banger_git_commit_info{commit=\"" + one + "\"} 1") != std::string::npos;
  })) << metrics;
  EXPECT_NE(metrics.find("banger_git_fetches_total{result=\"ok\"}"), std::string::npos) << metrics;

  // A new commit: its VM comes up.
  const std::string two = commit({{"fleet/web-2.yaml", vm("web-2")}}, "two");
  ASSERT_TRUE(eventually([&] { return running("web-2") && converged() == two; })) << "never converged to two";

  // An invalid commit: nothing changes, the error names the file.
  commit({{"fleet/web-3.yaml", vm("web-3", "lots")}}, "bad");
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("does not validate"); })) << watcher_.log();
  EXPECT_NE(watcher_.log().find("web-3.yaml"), std::string::npos);
  std::this_thread::sleep_for(600ms);
  EXPECT_FALSE(exists("web-3"));
  EXPECT_TRUE(running("web-1") && running("web-2"));
  EXPECT_EQ(converged(), two);

  // A commit without the folder: nothing changes either.
  commit({}, "gone", {"fleet"});
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("has no folder fleet: nothing changed"); })) << watcher_.log();
  EXPECT_TRUE(running("web-1") && running("web-2"));

  // A force-push back to the first commit: the host follows.
  auto forced = git({"push", "-q", "-f", "origin", one + ":main"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  ASSERT_TRUE(eventually([&] { return !exists("web-2") && converged() == one; }))
      << "a force-push to one did not converge back";
  EXPECT_TRUE(running("web-1"));

  // The repository goes away: the last good state stays, and it is said.
  fs::rename(origin_, origin_ + ".away");
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("git fetch failed"); })) << watcher_.log();
  EXPECT_NE(watcher_.log().find("keeping commit " + one.substr(0, 12)), std::string::npos) << watcher_.log();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(running("web-1"));
  EXPECT_EQ(watcher_.log_count("git fetch failed"), 1u) << "one warning, then quiet retries:\n" << watcher_.log();
  fs::rename(origin_ + ".away", origin_);
  EXPECT_TRUE(eventually([&] { return watcher_.log_has("git fetch works again"); }, 20s)) << watcher_.log();
  EXPECT_EQ(watcher_.stop(), 0);
}

// A watcher that restarts while the repository is unreachable keeps
// serving the tree it wrote last; one that never fetched waits for it.
TEST_F(GitWatch, ARestartWithTheRepositoryAwayKeepsTheLastTree) {
  start();
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("git fetch failed"); })) << watcher_.log();
  EXPECT_NE(watcher_.log().find("nothing applied from it yet"), std::string::npos) << watcher_.log();
  const std::string one = commit({{"fleet/base.yaml", base()}, {"fleet/web-1.yaml", vm("web-1")}}, "one");
  ASSERT_TRUE(eventually([&] { return running("web-1") && converged() == one; }, 30s)) << "never converged";
  EXPECT_EQ(watcher_.stop(), 0);
  fs::rename(origin_, origin_ + ".away");
  start();
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("keeping commit " + one.substr(0, 12)); })) << watcher_.log();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(running("web-1"));
  EXPECT_FALSE(watcher_.log_has("- VM/web-1")) << watcher_.log();
  fs::rename(origin_ + ".away", origin_);
}

}  // namespace
