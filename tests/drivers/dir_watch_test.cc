// DirWatch against real inotify and PidfdSet against real processes, in a
// private temp folder (no root needed). The event sequences are the ones
// seen from shells, sed -i, editors, mkdir -p and git (host-apis.md §7).
#include "drivers/dir_watch.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/host_error.h"
#include "drivers/pidfd_set.h"
#include "drivers/process.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::TempDir;

TEST(DirEventTest, Classification) {
  struct Case {
    uint32_t mask;
    const char* name;
    DirEventKind kind;
  };
  const Case cases[] = {
      {IN_CLOSE_WRITE, "vm.yaml", DirEventKind::Manifest},
      {IN_MOVED_TO, "vm.yml", DirEventKind::Manifest},
      {IN_MOVED_FROM, "vm.yaml", DirEventKind::Manifest},
      {IN_DELETE, "vm.yaml", DirEventKind::Manifest},
      {IN_CREATE, "sedAb12x", DirEventKind::Ignore},        // sed -i's temp file
      {IN_CLOSE_WRITE, "vm.yaml~", DirEventKind::Ignore},   // an editor's backup
      {IN_CREATE, ".vm.yaml.swp", DirEventKind::Ignore},    // vim's swap file
      {IN_CREATE | IN_ISDIR, ".git", DirEventKind::Ignore},
      {IN_CLOSE_WRITE, ".hidden.yaml", DirEventKind::Ignore},
      {IN_CREATE | IN_ISDIR, "vms", DirEventKind::NewDir},
      {IN_MOVED_TO | IN_ISDIR, "vms", DirEventKind::NewDir},
      {IN_DELETE | IN_ISDIR, "vms", DirEventKind::DirGone},
      {IN_MOVED_FROM | IN_ISDIR, "vms", DirEventKind::DirGone},
      {IN_DELETE_SELF, "", DirEventKind::SelfGone},
      {IN_MOVE_SELF, "", DirEventKind::SelfGone},
      {IN_IGNORED, "", DirEventKind::Ignore},
      {IN_Q_OVERFLOW, "", DirEventKind::Overflow},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(classify_dir_event(c.mask, c.name), c.kind);
  }
}

class DirWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/m";
    fs::create_directories(root_ + "/vms");
    fs::create_directories(root_ + "/.git/objects");
    watch_ = std::make_unique<DirWatch>(root_);
    EXPECT_EQ(watch_->watched(), 2u) << "m and m/vms; never .git";
  }

  // Events that arrive within `wait` (after the first one, 50 ms more).
  DirEvents events(std::chrono::milliseconds wait = 500ms) {
    DirEvents all;
    pollfd p{watch_->fd(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (poll(&p, 1, std::max(left, 0)) <= 0) break;
      DirEvents e = watch_->read();
      all.changed |= e.changed;
      all.overflow |= e.overflow;
      all.root_gone |= e.root_gone;
      all.paths.insert(all.paths.end(), e.paths.begin(), e.paths.end());
      deadline = std::min(deadline, std::chrono::steady_clock::now() + 50ms);
    }
    return all;
  }

  void sh(const std::string& cmd) { ASSERT_EQ(test::run_command({"/bin/sh", "-c", cmd}).exit_code, 0) << cmd; }

  TempDir tmp_;
  std::string root_;
  std::unique_ptr<DirWatch> watch_;
};

TEST_F(DirWatchTest, InPlaceWriteIsAChange) {
  sh("echo a: 1 > " + root_ + "/vm.yaml");
  DirEvents e = events();
  EXPECT_TRUE(e.changed);
  ASSERT_FALSE(e.paths.empty());
  EXPECT_EQ(e.paths[0], root_ + "/vm.yaml");
}

TEST_F(DirWatchTest, SedInPlaceRenameIsAChange) {
  sh("echo a: 1 > " + root_ + "/vms/web.yaml");
  events();
  sh("sed -i s/1/2/ " + root_ + "/vms/web.yaml");
  DirEvents e = events();
  EXPECT_TRUE(e.changed);
  EXPECT_NE(std::find(e.paths.begin(), e.paths.end(), root_ + "/vms/web.yaml"), e.paths.end());
}

TEST_F(DirWatchTest, OtherFilesAndGitInternalsAreIgnored) {
  sh("echo x > " + root_ + "/README.md; echo x > " + root_ + "/.git/objects/ab; echo x > " + root_ +
     "/.vm.yaml.swp");
  EXPECT_FALSE(events(300ms).changed);
}

TEST_F(DirWatchTest, NewFoldersAreWatchedWithWhatTheyAlreadyHold) {
  // mkdir -p makes b/c before any watch exists on b.
  sh("mkdir -p " + root_ + "/b/c");
  EXPECT_TRUE(events().changed);
  EXPECT_EQ(watch_->watched(), 4u);
  sh("echo a: 1 > " + root_ + "/b/c/n.yaml");
  DirEvents e = events();
  EXPECT_TRUE(e.changed);
  EXPECT_NE(std::find(e.paths.begin(), e.paths.end(), root_ + "/b/c/n.yaml"), e.paths.end());
}

TEST_F(DirWatchTest, RenamedFolderIsFollowed) {
  sh("mv " + root_ + "/vms " + root_ + "/machines");
  EXPECT_TRUE(events().changed);
  EXPECT_EQ(watch_->watched(), 2u);
  sh("echo a: 1 > " + root_ + "/machines/x.yaml");
  DirEvents e = events();
  EXPECT_TRUE(e.changed);
  EXPECT_NE(std::find(e.paths.begin(), e.paths.end(), root_ + "/machines/x.yaml"), e.paths.end());
}

TEST_F(DirWatchTest, RemovedFolderIsAChangeAndForgotten) {
  sh("echo a: 1 > " + root_ + "/vms/web.yaml");
  events();
  sh("rm -rf " + root_ + "/vms");
  DirEvents e = events();
  EXPECT_TRUE(e.changed);
  EXPECT_FALSE(e.root_gone);
  EXPECT_EQ(watch_->watched(), 1u);
}

TEST_F(DirWatchTest, RootGoneIsReportedAndRescanFindsItAgain) {
  sh("rm -rf " + root_);
  DirEvents e = events();
  EXPECT_TRUE(e.root_gone);
  EXPECT_THROW(watch_->rescan(), HostError);
  sh("mkdir -p " + root_ + "/again");
  watch_->rescan();
  EXPECT_EQ(watch_->watched(), 2u);
  sh("echo a: 1 > " + root_ + "/again/vm.yaml");
  EXPECT_TRUE(events().changed);
}

TEST_F(DirWatchTest, MissingRootThrows) {
  EXPECT_THROW(DirWatch(tmp_.path() + "/nope"), HostError);
}

// A child that sleeps; killed and reaped by the test itself.
struct Child {
  pid_t pid = -1;
  Child() {
    pid = fork();
    if (pid == 0) {
      execl("/bin/sleep", "sleep", "30", nullptr);
      _exit(127);
    }
  }
  ~Child() { stop(); }
  void stop() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
};

std::optional<ProcessIdentity> identity_after_exec(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    auto id = identify(pid);
    if (id && id->exe.find("sleep") != std::string::npos) return id;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

TEST(PidfdSetTest, ExitIsReportedOnce) {
  Child a, b;
  auto ida = identity_after_exec(a.pid), idb = identity_after_exec(b.pid);
  ASSERT_TRUE(ida && idb);
  PidfdSet set;
  EXPECT_TRUE(set.reset({{"a", *ida}, {"b", *idb}}).empty());
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.take_exited().empty());
  a.stop();
  std::vector<pollfd> fds;
  set.add_pollfds(fds);
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_GT(poll(fds.data(), fds.size(), 3000), 0);
  EXPECT_EQ(set.take_exited(), std::vector<std::string>{"a"});
  EXPECT_TRUE(set.take_exited().empty());
  EXPECT_EQ(set.size(), 1u);
}

TEST(PidfdSetTest, AReusedPidIsNotTrusted) {
  Child c;
  auto id = identity_after_exec(c.pid);
  ASSERT_TRUE(id);
  ProcessIdentity stale = *id;
  stale.start_time += 1;  // the record of an earlier process that had this pid
  PidfdSet set;
  EXPECT_EQ(set.reset({{"vm", stale}}), std::vector<std::string>{"vm"});
  EXPECT_EQ(set.size(), 0u);
  ProcessIdentity gone{999999, 1, "/x"};
  EXPECT_EQ(set.reset({{"vm", *id}, {"old", gone}}), std::vector<std::string>{"old"});
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(set.reset({{"vm", *id}, {"old", gone}}).empty()) << "a death is reported once";
  c.stop();
  std::vector<pollfd> fds;
  set.add_pollfds(fds);
  EXPECT_GT(poll(fds.data(), fds.size(), 3000), 0);
  EXPECT_EQ(set.take_exited(), std::vector<std::string>{"vm"});
  EXPECT_TRUE(set.reset({{"vm", *id}}).empty()) << "already reported by take_exited";
}

}  // namespace
}  // namespace banger
