// `banger watch --git URL`: a bare repository made by the test (with the git
// command, in the test only), watched over file:// in the test's private
// network namespace with the strict fake Firecracker. Commits converge the
// host; an invalid commit, a commit without the folder, and an unreachable
// repository change nothing; a force-push to an older commit converges back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "host_e2e.h"
#include "netns_scope.h"
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
                     const std::vector<std::string>& removed = {}, const std::string& signing_key = "") {
    for (const auto& [path, text] : files) {
      fs::create_directories(fs::path(work_ + "/" + path).parent_path());
      std::ofstream(work_ + "/" + path) << text;
    }
    for (const auto& p : removed) fs::remove_all(work_ + "/" + p);
    EXPECT_EQ(git({"add", "-A"}).exit_code, 0);
    // With a key: signed as git does with gpg.format=ssh.
    auto made = signing_key.empty() ? git({"commit", "-q", "-m", message})
                                    : git({"-c", "gpg.format=ssh", "-c", "user.signingkey=" + signing_key, "commit",
                                           "-q", "-S", "-m", message});
    EXPECT_EQ(made.exit_code, 0) << made.err;
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

  void start(std::vector<std::string> extra = {}, const std::string& resync = "30s") {
    std::vector<std::string> argv{BANGER_BIN, "watch", "--git", "file://" + origin_, "--path", "fleet",
                                  "--interval", "200ms", "--resync", resync,
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
  EXPECT_EQ(json["metadata"]["source"]["commit"], one) << json.dump();
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = banger::test::http_get_local(19475, "/metrics");
    return metrics.find("banger_git_commit_info{commit=\"" + one + "\"} 1") != std::string::npos;
  })) << metrics;
  EXPECT_NE(metrics.find("banger_git_fetches_total{result=\"ok\"}"), std::string::npos) << metrics;
  auto exported = banger({"state", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(nlohmann::json::parse(exported.out)["metadata"]["source"]["commit"], one);

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

// A token for an https forge, as the unit's env file gives it: sent as the
// password of HTTP Basic auth (here plain http on loopback, served by git
// http-backend behind a check of the credentials). Without it the fetch
// fails and says why.
TEST_F(GitWatch, ATokenFromTheEnvironmentIsTheHttpPassword) {
  const std::string one = commit({{"fleet/base.yaml", base()}}, "one");
  pid_t server = fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    execl("/usr/bin/python3", "python3", BANGER_SOURCE_DIR "/tests/drivers/git_http_server.py", root().c_str(), "18976",
          "bob", "s3cret", nullptr);
    _exit(127);
  }
  struct Kill {
    pid_t pid;
    ~Kill() { kill(pid, SIGTERM), waitpid(pid, nullptr, 0); }
  } stop_server{server};
  const std::string url = "http://127.0.0.1:18976/origin.git";
  ASSERT_TRUE(eventually([&] { return !banger::test::http_get_local(18976, "/").empty(); })) << "no server";
  auto watch = [&](const std::string& log) {
    std::vector<std::string> argv{BANGER_BIN, "watch", "--git", url, "--path", "fleet", "--interval", "200ms",
                                  "--state-dir", root() + "/state", "--run-dir", root() + "/run"};
    ASSERT_TRUE(watcher_.start(argv, root() + "/" + log));
  };
  watch("no-token.log");
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("git fetch failed"); })) << watcher_.log();
  EXPECT_NE(watcher_.log().find("fetching refs/heads/main from " + url), std::string::npos) << watcher_.log();
  EXPECT_EQ(watcher_.stop(), 0);
  EXPECT_EQ(converged(), "");

  ::setenv("BANGER_GIT_USERNAME", "bob", 1);
  ::setenv("BANGER_GIT_TOKEN", "s3cret", 1);
  watch("token.log");
  ::unsetenv("BANGER_GIT_USERNAME");
  ::unsetenv("BANGER_GIT_TOKEN");
  EXPECT_TRUE(eventually([&] { return converged() == one; })) << watcher_.log();
  EXPECT_TRUE(eventually([&] { return banger({"get", "network", "g"}).exit_code == 0; }));
  EXPECT_FALSE(watcher_.log_has("s3cret")) << "the token is never logged";
  EXPECT_EQ(watcher_.stop(), 0);
}

// --git-verify: only commits signed (SSH) by a key of the allowed_signers
// file change the host; unsigned ones and ones by another key are refused
// like an invalid commit, and the next good one applies.
TEST_F(GitWatch, GitVerifyAppliesOnlyCommitsSignedByAnAllowedKey) {
  if (run_command({"/bin/sh", "-c", "command -v ssh-keygen"}).exit_code != 0) GTEST_SKIP() << "no ssh-keygen";
  for (const char* who : {"alice", "mallory"}) {
    auto k = run_command({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", root() + "/" + who});
    ASSERT_EQ(k.exit_code, 0) << k.err;
  }
  std::ifstream pub(root() + "/alice.pub");
  std::string alice_key;
  std::getline(pub, alice_key);
  dir_->write("allowed_signers", "alice@example.com " + alice_key + "\n");
  const std::string alice = root() + "/alice.pub", mallory = root() + "/mallory.pub";

  const std::string one = commit({{"fleet/base.yaml", base()}}, "signed", {}, alice);
  // A resync every second: a reconcile of the last good tree must not take
  // a refused commit for converged.
  start({"--git-verify", root() + "/allowed_signers"}, "1s");
  ASSERT_TRUE(eventually([&] { return converged() == one; })) << watcher_.log();
  EXPECT_TRUE(watcher_.log_has("signed by alice@example.com")) << watcher_.log();

  const std::string unsigned_id = commit({{"fleet/web-1.yaml", vm("web-1")}}, "unsigned");
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("is not signed"); })) << watcher_.log();
  EXPECT_NE(watcher_.log().find("commit " + unsigned_id.substr(0, 12)), std::string::npos) << watcher_.log();
  std::this_thread::sleep_for(1500ms);  // a resync or more
  EXPECT_EQ(converged(), one) << "a resync took the refused commit for converged:\n" << watcher_.log();
  const std::string by_mallory = commit({{"fleet/web-1.yaml", vm("web-1", "256Mi")}}, "mallory's", {}, mallory);
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("does not list"); })) << watcher_.log();
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(exists("web-1")) << "an unverified commit changed the host";
  EXPECT_EQ(converged(), one);

  const std::string two = commit({{"fleet/web-1.yaml", vm("web-1")}}, "signed again", {}, alice);
  ASSERT_TRUE(eventually([&] { return running("web-1") && converged() == two; })) << watcher_.log();
  (void)by_mallory;
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

namespace {

using banger::test::InNetns;
using banger::test::Netns;

// Two hosts, one repository: A (this namespace, ROOT/state) and B (its own
// namespace, ROOT/b/state), each `watch --git` with its own node name and
// labels over file://.
class GitFleet : public GitWatch {
 protected:
  void SetUp() override {
    GitWatch::SetUp();
    if (IsSkipped()) return;
    host_b_ = std::make_unique<Netns>();
  }
  void TearDown() override {
    if (!dir_) return;
    watcher_b_.stop();
    if (HasFailure()) std::cerr << "--- watcher B log ---\n" << watcher_b_.log() << "---------------------\n";
    watcher_.stop();
    for (auto* host : {"a", "b"}) on(host, {"delete", "-l", "e2e=fleet", "--ignore-not-found"});
    GitWatch::TearDown();
    host_b_.reset();
  }

  std::string fleet(const std::string& web_node, const std::string& web_memory = "128Mi") const {
    auto doc = [](const std::string& kind, const std::string& name, const std::string& spec) {
      return "---\napiVersion: banger.dev/v1\nkind: " + kind + "\nmetadata: {name: " + name +
             ", labels: {e2e: fleet}}\nspec: " + spec + "\n";
    };
    auto vm = [&](const std::string& name, const std::string& memory, const std::string& placement) {
      return doc("VM", name, "{kernel: k, image: img, network: lab, memory: " + memory +
                                 ", runtime: firecracker, diskStrategy: copy" +
                                 (placement.empty() ? "" : ", placement: " + placement) + "}");
    };
    return doc("Network", "lab", "{subnet: 10.86.0.0/24, dns: {enabled: false}}") +
           doc("Kernel", "k", "{path: " + root() + "/vmlinux}") + doc("Image", "img", "{path: " + root() + "/rootfs.ext4}") +
           vm("web", web_memory, "{node: " + web_node + "}") + vm("db", "128Mi", "{nodeSelector: {zone: b}}") +
           vm("tools", "64Mi", "") +
           "---\napiVersion: banger.dev/v1\nkind: Node\nmetadata: {name: runner-a, labels: {zone: a}}\n"
           "---\napiVersion: banger.dev/v1\nkind: Node\nmetadata: {name: runner-b, labels: {zone: b}}\n";
  }

  std::vector<std::string> node_args(const std::string& host) const {
    return {"--node-name", "runner-" + host, "--node-labels", "zone=" + host};
  }
  std::string host_root(const std::string& host) const { return host == "a" ? root() : root() + "/b"; }

  CommandResult on(const std::string& host, std::vector<std::string> args) {
    for (const auto& a : node_args(host)) args.push_back(a);
    if (host == "a") return banger::test::run_banger_in(root(), args, stop_timeout_);
    InNetns in(*host_b_);
    return banger::test::run_banger_in(host_root("b"), args, stop_timeout_);
  }

  void start_host(const std::string& host) {
    std::vector<std::string> argv{BANGER_BIN, "watch", "--git", "file://" + origin_, "--path", "fleet",
                                  "--interval", "200ms", "--resync", "30s",
                                  "--state-dir", host_root(host) + "/state", "--run-dir", host_root(host) + "/run",
                                  "--firecracker", FAKE_FIRECRACKER_BIN, "--stop-timeout", "2s"};
    for (const auto& a : node_args(host)) argv.push_back(a);
    if (host == "a") {
      ASSERT_TRUE(watcher_.start(argv, root() + "/watch-a.log"));
    } else {
      fs::create_directories(host_root("b"));
      InNetns in(*host_b_);  // the watcher and every VM it starts live in B's namespace
      ASSERT_TRUE(watcher_b_.start(argv, root() + "/watch-b.log"));
    }
  }

  // The VMs a host runs, sorted.
  std::string vms(const std::string& host) {
    auto r = on(host, {"get", "vm", "-o", "json"});
    if (r.exit_code != 0) return "error: " + r.err;
    std::vector<std::string> names;
    const auto doc = nlohmann::json::parse(r.out);  // alive for the loop: items is a reference into it
    for (const auto& it : doc["items"]) {
      if (it["status"]["STATE"] == "Running") names.push_back(it["metadata"]["name"]);
    }
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
  }

  std::unique_ptr<Netns> host_b_;
  banger::test::WatcherProcess watcher_b_;
};

TEST_F(GitFleet, TwoHostsFollowOneRepositoryEachItsOwnPart) {
  const std::string one = commit({{"fleet/fleet.yaml", fleet("runner-a")}}, "web on a");
  start_host("a");
  start_host("b");
  ASSERT_TRUE(eventually([&] { return vms("a") == "tools,web" && vms("b") == "db,tools"; }, 30s))
      << "a: " << vms("a") << "; b: " << vms("b");

  // A commit that moves web from A to B: deleted on A, created on B.
  const std::string moved = commit({{"fleet/fleet.yaml", fleet("runner-b")}}, "web to b");
  ASSERT_TRUE(eventually([&] { return vms("a") == "tools" && vms("b") == "db,tools,web"; }, 30s))
      << "a: " << vms("a") << "; b: " << vms("b");

  // An invalid commit changes nothing on either host.
  commit({{"fleet/fleet.yaml", fleet("runner-a", "lots")}}, "bad");
  ASSERT_TRUE(eventually([&] {
    return watcher_.log_has("does not validate") && watcher_b_.log_has("does not validate");
  })) << watcher_.log();
  EXPECT_EQ(vms("a"), "tools");
  EXPECT_EQ(vms("b"), "db,tools,web");

  // A force-push back to the first commit: both hosts converge back.
  ASSERT_EQ(git({"push", "-q", "-f", "origin", one + ":main"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return vms("a") == "tools,web" && vms("b") == "db,tools"; }, 30s))
      << "a: " << vms("a") << "; b: " << vms("b");

  // The repository goes away: both keep the last good state.
  fs::rename(origin_, origin_ + ".away");
  ASSERT_TRUE(eventually([&] { return watcher_.log_has("git fetch failed") && watcher_b_.log_has("git fetch failed"); }));
  EXPECT_EQ(vms("a"), "tools,web");
  EXPECT_EQ(vms("b"), "db,tools");

  // fleet diff over both hosts' exports: nothing pending, then one plan per
  // host for a change not yet pushed.
  EXPECT_EQ(watcher_.stop(), 0);
  EXPECT_EQ(watcher_b_.stop(), 0);
  for (auto* host : {"a", "b"}) {
    auto ex = on(host, {"state", "export", "--file", root() + "/export-" + host + ".json"});
    ASSERT_EQ(ex.exit_code, 0) << ex.err;
    auto doc = nlohmann::json::parse(std::ifstream(root() + "/export-" + host + ".json"));
    EXPECT_EQ(doc["metadata"]["source"]["commit"], one) << host;
  }
  std::vector<std::string> fleet_diff{BANGER_BIN, "fleet", "diff", "-f", work_ + "/fleet", "--prune", "--against",
                                      root() + "/export-a.json", root() + "/export-b.json"};
  ASSERT_EQ(git({"checkout", "-q", one, "--", "fleet"}).exit_code, 0);
  auto same = run_command(fleet_diff);
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  std::ofstream(work_ + "/fleet/fleet.yaml") << fleet("runner-b");
  auto pending = run_command(fleet_diff);
  EXPECT_EQ(pending.exit_code, 2) << pending.out << pending.err;
  const size_t a = pending.out.find("== node runner-a"), b = pending.out.find("== node runner-b");
  ASSERT_TRUE(a != std::string::npos && b != std::string::npos) << pending.out;
  EXPECT_NE(pending.out.find("- VM/web", a), std::string::npos) << pending.out;
  EXPECT_NE(pending.out.find("+ VM/web", b), std::string::npos) << pending.out;
  fs::rename(origin_ + ".away", origin_);
  (void)moved;
}

}  // namespace
