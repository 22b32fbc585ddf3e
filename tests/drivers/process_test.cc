// spawn_detached / identify / is_running / kill_process against real
// processes. Needs no root: everything is a child of this test, in a
// private temp folder, killed by a guard also when an assertion fails.
#include "drivers/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/host_error.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Kills the recorded process, and what its shell started, when the test
// ends, whatever happened. The spawned tree is alone in its process group
// (banger-launch started it in a new session), so the group is safe to kill.
struct Reaper {
  ProcessIdentity p;
  ~Reaper() {
    try {
      if (is_running(p)) {
        pid_t group = getpgid(p.pid);
        if (group > 1 && group != getpgrp()) kill(-group, SIGKILL);
      }
      kill_process(p);
    } catch (...) {
    }
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `what` until it holds or 3 s pass; true when it held.
template <class F>
bool eventually(F what) {
  for (auto end = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < end;) {
    if (what()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return what();
}

pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PPid:", 0) == 0) return std::stoi(line.substr(5));
  }
  return -1;
}

ProcessIdentity spawn_sh(const test::TempDir& dir, const std::string& script) {
  return spawn_detached({{"/bin/sh", "-c", script}, dir.path() + "/out.log", ""});
}

TEST(SpawnDetached, IdentityOwnSessionAndLog) {
  test::TempDir dir;
  Reaper r{spawn_sh(dir, "echo hi; sleep 30; true")};
  auto now = identify(r.p.pid);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->start_time, r.p.start_time);
  EXPECT_EQ(r.p.exe, fs::canonical("/bin/sh").string());
  EXPECT_TRUE(is_running(r.p));
  // Its own session, and not our child: it outlives banger.
  EXPECT_NE(getsid(r.p.pid), getsid(0));
  EXPECT_NE(getsid(r.p.pid), r.p.pid) << "must not be a session leader (double fork)";
  EXPECT_NE(parent_of(r.p.pid), getpid());
  EXPECT_TRUE(eventually([&] { return slurp(dir.path() + "/out.log") == "hi\n"; }))
      << slurp(dir.path() + "/out.log");
  struct stat st {};
  // 0640: the group of its folder (banger's, in a VM's run dir) reads it.
  ASSERT_EQ(stat((dir.path() + "/out.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

// With exit_status_path, a reaper stays the VM process's parent and records
// how it ended; it holds none of banger's descriptors (an flock among them
// would keep the host lock taken after banger exits).
TEST(SpawnDetached, TheReaperRecordsTheExitCodeAndHoldsNoDescriptors) {
  test::TempDir dir;
  const std::string status = dir.path() + "/exit-status";
  dir.write(status.substr(dir.path().size() + 1), "exited 99 1\n");  // a previous run's
  std::string lock = dir.write("lock", "");
  int lockfd = open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lockfd, 0);
  ASSERT_EQ(flock(lockfd, LOCK_EX), 0);
  Reaper r{spawn_detached({{"/bin/sh", "-c", "sleep 0.5; exit 3"}, dir.path() + "/out.log", "", status})};
  EXPECT_FALSE(fs::exists(status)) << "the previous run's status must go at spawn";
  pid_t reaper = parent_of(r.p.pid);
  EXPECT_NE(reaper, getpid());
  EXPECT_NE(reaper, 1);
  close(lockfd);
  int again = open(lock.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_EQ(flock(again, LOCK_EX | LOCK_NB), 0) << "the reaper kept the lock's descriptor";
  close(again);
  ASSERT_TRUE(eventually([&] { return fs::exists(status); }));
  auto st = read_exit_status(status);
  ASSERT_TRUE(st) << slurp(status);
  EXPECT_FALSE(st->signaled);
  EXPECT_EQ(st->code, 3);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_LE(std::llabs(now_ms - st->at_ms), 5000);
  EXPECT_TRUE(eventually([&] { return !identify(reaper); })) << "the reaper must exit after recording";
}

// The reaper is banger-launch, not a copy of the (large) process that asked:
// a thousand VMs keep a thousand reapers.
TEST(SpawnDetached, TheReaperIsTheSmallLauncherNotACopyOfBanger) {
  test::TempDir dir;
  Reaper r{spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", "", dir.path() + "/exit-status"})};
  pid_t reaper = parent_of(r.p.pid);
  ASSERT_GT(reaper, 1);
  auto id = identify(reaper);
  ASSERT_TRUE(id);
  EXPECT_EQ(fs::path(id->exe).filename(), "banger-launch");
  EXPECT_EQ(fs::canonical(id->exe), fs::canonical(BANGER_LAUNCH_BIN));
  // Its resident memory is its own few hundred KiB, not this test's.
  std::ifstream in("/proc/" + std::to_string(reaper) + "/status");
  long rss_kib = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kib = std::stol(line.substr(6));
  }
  EXPECT_GT(rss_kib, 0);
  EXPECT_LT(rss_kib, 4096);
  // Its arguments (the status file, in the VM's folder) are blanked, so a
  // search for the VM's hypervisor by folder never finds the reaper.
  EXPECT_TRUE(processes_under(dir.path()).empty());
  EXPECT_EQ(slurp("/proc/" + std::to_string(reaper) + "/cmdline").find(dir.path()), std::string::npos);
}

// What banger's watcher ignores or blocks for itself must not reach a VM.
TEST(SpawnDetached, TheProcessGetsDefaultSignalsAndAnEmptyMask) {
  test::TempDir dir;
  struct sigaction ign {}, old_usr1 {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR1, &ign, &old_usr1), 0);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  Reaper r{spawn_detached({{"/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status; sleep 30"},
                           dir.path() + "/out.log", "", dir.path() + "/exit-status"})};
  sigaction(SIGUSR1, &old_usr1, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  // sh itself ignores nothing when started with defaults.
  EXPECT_TRUE(eventually([&] {
    return slurp(dir.path() + "/out.log") == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n";
  })) << slurp(dir.path() + "/out.log");
}

// banger killed (kill -9) between starting banger-launch and reading its
// report: the reaper's report then meets a closed pipe. It must carry on
// and record the VM's exit, not die of SIGPIPE.
TEST(SpawnDetached, TheReaperOutlivesABangerKilledBeforeItReadTheReport) {
  test::TempDir dir;
  const std::string status = dir.path() + "/exit-status";
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);  // nobody will ever read the report
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 3);  // the report pipe is fd 3, without CLOEXEC
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execl(BANGER_LAUNCH_BIN, BANGER_LAUNCH_BIN, status.c_str(), "", "/bin/sh", "-c", "sleep 0.3; exit 4",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  ASSERT_GT(pid, 0);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  ASSERT_TRUE(eventually([&] { return fs::exists(status); })) << "the reaper did not record the exit";
  auto ex = read_exit_status(status);
  ASSERT_TRUE(ex);
  EXPECT_FALSE(ex->signaled);
  EXPECT_EQ(ex->code, 4);
}

TEST(SpawnDetached, AMissingLauncherIsAClearError) {
  test::TempDir dir;
  const std::string before = std::getenv("BANGER_LAUNCH") ? std::getenv("BANGER_LAUNCH") : "";
  setenv("BANGER_LAUNCH", (dir.path() + "/banger-launch").c_str(), 1);
  std::string what;
  try {
    spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", ""});
  } catch (const HostError& e) {
    what = e.what();
  }
  if (before.empty()) {
    unsetenv("BANGER_LAUNCH");
  } else {
    setenv("BANGER_LAUNCH", before.c_str(), 1);
  }
  ASSERT_FALSE(what.empty()) << "expected HostError";
  EXPECT_NE(what.find(dir.path() + "/banger-launch"), std::string::npos) << what;
  EXPECT_NE(what.find("beside the banger binary"), std::string::npos) << what;
}

TEST(SpawnDetached, TheReaperRecordsAKillingSignal) {
  test::TempDir dir;
  const std::string status = dir.path() + "/exit-status";
  Reaper r{spawn_detached({{"/bin/sh", "-c", "sleep 30; true"}, dir.path() + "/out.log", "", status})};
  kill_process(r.p);
  ASSERT_TRUE(wait_for_exit_status(status, 5s));
  auto st = read_exit_status(status);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->code, SIGKILL);
  EXPECT_FALSE(fs::exists(status + ".tmp"));
}

// The reaper writes its file after kill_process has seen the process go:
// removing the folder at once raced it ("Directory not empty", a CI flake of
// dnsmasq's folder). After wait_for_exit_status nothing writes there.
TEST(SpawnDetached, AFolderIsRemovableOnceTheExitStatusIsWritten) {
  for (int i = 0; i < 20; ++i) {
    test::TempDir dir;
    const std::string run = dir.path() + "/run";
    fs::create_directory(run);
    Reaper r{spawn_detached({{"/bin/sleep", "30"}, run + "/out.log", "", run + "/exit-status"})};
    kill_process(r.p);
    ASSERT_TRUE(wait_for_exit_status(run + "/exit-status", 5s)) << "round " << i;
    std::error_code ec;
    fs::remove_all(run, ec);
    ASSERT_FALSE(ec) << "round " << i << ": " << ec.message();
    EXPECT_FALSE(fs::exists(run));
  }
  test::TempDir dir;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_for_exit_status(dir.path() + "/never", 30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
}

TEST(SpawnDetached, AppendsStderrToo) {
  test::TempDir dir;
  std::string log = dir.write("out.log", "from an earlier run\n");
  Reaper r{spawn_detached({{"/bin/sh", "-c", "echo out; echo err >&2; sleep 30; true"}, log, ""})};
  EXPECT_TRUE(eventually([&] { return slurp(log) == "from an earlier run\nout\nerr\n"; }))
      << slurp(log);
}

TEST(SpawnDetached, StdinIsDevNullAndCwdIsApplied) {
  test::TempDir dir;
  fs::create_directory(dir.path() + "/work");
  // `cat` ends at once on /dev/null; a terminal or pipe would block it.
  Reaper r{spawn_detached({{"/bin/sh", "-c", "cat; echo \"cwd=$(pwd)\"; sleep 30; true"},
                           dir.path() + "/out.log",
                           dir.path() + "/work"})};
  std::string want = "cwd=" + fs::canonical(dir.path() + "/work").string() + "\n";
  EXPECT_TRUE(eventually([&] { return slurp(dir.path() + "/out.log") == want; }))
      << slurp(dir.path() + "/out.log");
}

TEST(SpawnDetached, ClosesInheritedDescriptors) {
  test::TempDir dir;
  // Deliberately without O_CLOEXEC: only close_range keeps it out of the VM.
  int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  std::string script = "if [ -e /proc/$$/fd/" + std::to_string(leaky) +
                       " ]; then echo leaked; else echo closed; fi; sleep 30; true";
  Reaper r{spawn_sh(dir, script)};
  close(leaky);
  EXPECT_TRUE(eventually([&] { return slurp(dir.path() + "/out.log") == "closed\n"; }))
      << slurp(dir.path() + "/out.log");
}

TEST(SpawnDetached, MissingBinaryIsAnError) {
  test::TempDir dir;
  try {
    spawn_detached({{dir.path() + "/no-such-binary", "--x"}, dir.path() + "/out.log", ""});
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/no-such-binary"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

// A start that fails after the fork still has a reaper writing the exit
// status; once the error is thrown it has written it, so the caller can
// remove the folder (a test's temp dir was left behind when it could not).
TEST(SpawnDetached, AFailedStartReturnsOnlyOnceTheReaperHasWritten) {
  for (int i = 0; i < 10; ++i) {
    test::TempDir dir;
    const std::string run = dir.path() + "/run";
    fs::create_directory(run);
    EXPECT_THROW(spawn_detached({{run + "/no-such-binary"}, run + "/out.log", "", run + "/exit-status"}), HostError);
    EXPECT_TRUE(fs::exists(run + "/exit-status")) << "round " << i;
    std::error_code ec;
    fs::remove_all(run, ec);
    ASSERT_FALSE(ec) << "round " << i << ": " << ec.message();
  }
}

TEST(SpawnDetached, NonExecutableFileIsAnError) {
  test::TempDir dir;
  std::string script = dir.write("not-executable", "#!/bin/sh\nsleep 30\n");
  EXPECT_THROW(spawn_detached({{script}, dir.path() + "/out.log", ""}), HostError);
}

TEST(SpawnDetached, UnwritableLogIsAnError) {
  test::TempDir dir;
  try {
    spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/missing-folder/out.log", ""});
    FAIL() << "expected HostError";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("missing-folder/out.log"), std::string::npos) << e.what();
  }
}

TEST(SpawnDetached, MissingCwdIsAnError) {
  test::TempDir dir;
  EXPECT_THROW(
      spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", dir.path() + "/nope"}),
      HostError);
}

TEST(KillProcess, KillsAndIsIdempotent) {
  test::TempDir dir;
  Reaper r{spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", ""})};
  ASSERT_TRUE(is_running(r.p));
  kill_process(r.p);
  // kill_process waits for the exit: no polling needed here.
  EXPECT_FALSE(is_running(r.p));
  EXPECT_FALSE(identify(r.p.pid) && identify(r.p.pid)->start_time == r.p.start_time);
  EXPECT_NO_THROW(kill_process(r.p));  // absent is success
}

TEST(KillProcess, WrongStartTimeIsNotOurs) {
  test::TempDir dir;
  Reaper r{spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", ""})};
  // A record whose pid was reused by another process: same pid, other start.
  ProcessIdentity stale = r.p;
  stale.start_time += 1;
  EXPECT_FALSE(is_running(stale));
  kill_process(stale);
  EXPECT_TRUE(is_running(r.p)) << "kill_process killed a process that was not the recorded one";
}

TEST(KillProcess, WrongExeIsNotOurs) {
  test::TempDir dir;
  Reaper r{spawn_detached({{"/bin/sleep", "30"}, dir.path() + "/out.log", ""})};
  ProcessIdentity other = r.p;
  other.exe = "/usr/bin/firecracker";
  EXPECT_FALSE(is_running(other));
  kill_process(other);
  EXPECT_TRUE(is_running(r.p));
}

TEST(WaitForExit, TimesOutWhileRunningAndSeesTheExit) {
  test::TempDir dir;
  Reaper r{spawn_detached({{"/bin/sleep", "0.3"}, dir.path() + "/out.log", ""})};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_for_exit(r.p, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_TRUE(wait_for_exit(r.p, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(is_running(r.p));
}

TEST(Identify, GoneAndBogusPids) {
  EXPECT_FALSE(identify(0));
  EXPECT_FALSE(identify(-1));
  EXPECT_FALSE(is_running(ProcessIdentity{}));
  EXPECT_NO_THROW(kill_process(ProcessIdentity{}));
  auto self = identify(getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->exe, fs::canonical("/proc/self/exe").string());
  EXPECT_TRUE(is_running(*self));
}

}  // namespace
}  // namespace banger
