// HostLock between real processes: a second run fails at once (or waits,
// when asked to) while the first holds the lock.
#include <gtest/gtest.h>

#include <chrono>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "common/host_error.h"
#include "state/host_lock.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

using state_test::TempDir;

// Both ends closed on scope exit, so a failing assertion leaks no fd.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fd), 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

// Reads what is available within timeout_ms; "" on timeout or EOF.
std::string read_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return "";
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Children are forked before the parent takes the lock: a child forked
// while it is held would share the parent's locked file description and
// keep the lock alive after the parent lets go. alarm() ends a child that
// hangs, so a broken lock fails the test instead of blocking it forever.
pid_t fork_waiting_for_go(int go_fd) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(30);
    char c;
    if (::read(go_fd, &c, 1) != 1) _exit(5);
  }
  return pid;
}

// Child: try a non-waiting lock, send the error message (or "LOCKED").
pid_t try_lock_in_child(const std::string& dir, int go_fd, int out_fd) {
  pid_t pid = fork_waiting_for_go(go_fd);
  if (pid != 0) return pid;
  std::string msg;
  try {
    HostLock lock(dir, {.wait = false, .command = "banger apply"});
    msg = "LOCKED";
  } catch (const HostError& e) {
    msg = e.what();
  }
  (void)!::write(out_fd, msg.data(), msg.size());
  _exit(0);
}

TEST(HostLock, SecondRunFailsAtOnceWithGuidance) {
  TempDir t;
  Pipe p, go;
  pid_t pid = try_lock_in_child(t.state_dir(), go.fd[0], p.fd[1]);
  ASSERT_GE(pid, 0);
  std::optional<HostLock> held(std::in_place, t.state_dir(), HostLockOptions{.wait = false, .command = "banger apply"});
  ASSERT_EQ(::write(go.fd[1], "g", 1), 1);

  struct stat st {};
  ASSERT_EQ(::stat((t.state_dir() + "/lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::string msg = read_within(p.fd[0], 10000);
  EXPECT_EQ(wait_exit(pid), 0);
  // It names who holds it: this process, as banger apply, just now.
  EXPECT_EQ(msg, "the host lock " + t.state_dir() + "/lock is held by pid " + std::to_string(::getpid()) +
                     " (banger apply, started 0 s ago); wait or retry");

  // Released: the same attempt now succeeds, so the failure was the lock.
  held.reset();
  pid = try_lock_in_child(t.state_dir(), go.fd[0], p.fd[1]);
  ASSERT_GE(pid, 0);
  ASSERT_EQ(::write(go.fd[1], "g", 1), 1);
  msg = read_within(p.fd[0], 10000);
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_EQ(msg, "LOCKED");
}

TEST(HostLock, WaitingRunProceedsWhenTheFirstReleases) {
  TempDir t;
  Pipe p, go;
  pid_t pid = fork_waiting_for_go(go.fd[0]);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int waits = 0;
    try {
      HostLock lock(t.state_dir(), {.wait = true, .on_wait = [&](const std::string& holder) {
                                       ++waits;
                                       bool named = holder.rfind("pid " + std::to_string(::getppid()), 0) == 0;
                                       (void)!::write(p.fd[1], named ? "W" : "?", 1);
                                     }});
      (void)!::write(p.fd[1], waits == 1 ? "L" : "?", 1);
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  std::optional<HostLock> held(std::in_place, t.state_dir(), HostLockOptions{.wait = false, .command = "banger apply"});
  ASSERT_EQ(::write(go.fd[1], "g", 1), 1);
  EXPECT_EQ(read_within(p.fd[0], 10000), "W") << "on_wait was not called";
  EXPECT_EQ(read_within(p.fd[0], 300), "") << "the waiting run got the lock while it was held";
  held.reset();
  EXPECT_EQ(read_within(p.fd[0], 10000), "L") << "the waiting run did not proceed (or on_wait "
                                                 "was called more than once)";
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST(HostLock, NoWaitCallbackWhenFree) {
  TempDir t;
  bool called = false;
  {
    HostLock lock(t.state_dir(), {.wait = true, .on_wait = [&](const std::string&) { called = true; }});
  }
  EXPECT_FALSE(called);
}

// --lock-timeout: a waiting run gives up after the timeout, with an error
// that names the holder, and takes nothing.
TEST(HostLock, AWaitGivesUpAfterItsTimeoutNamingTheHolder) {
  TempDir t;
  HostLock held(t.state_dir(), {.wait = false, .command = "banger apply"});
  auto t0 = std::chrono::steady_clock::now();
  std::string holder_seen;
  try {
    // flock locks are per open file description: a second open in this
    // process waits for the first as another process would.
    HostLock second(t.state_dir(), {.wait = true,
                                    .timeout = std::chrono::milliseconds(300),
                                    .on_wait = [&](const std::string& h) { holder_seen = h; }});
    FAIL() << "got the lock while it was held";
  } catch (const HostError& e) {
    EXPECT_EQ(e.code(), ErrorCode::Busy);
    EXPECT_NE(std::string(e.what()).find("gave up after 300ms waiting for the host lock"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("(banger apply, started"), std::string::npos) << e.what();
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 3.0);
  EXPECT_EQ(holder_seen.rfind("pid " + std::to_string(::getpid()) + " (banger apply", 0), 0u) << holder_seen;
}

TEST(HostLock, AHolderTextThatSaysNothingUsableIsAnotherRun) {
  EXPECT_EQ(HostLock::describe_holder(""), "another banger run");
  EXPECT_EQ(HostLock::describe_holder("garbage"), "another banger run");
  EXPECT_EQ(HostLock::describe_holder("12\tbanger apply\tsoon\n"), "another banger run");
  EXPECT_EQ(HostLock::describe_holder("12\tbanger apply\t0\n").rfind("pid 12 (banger apply, started ", 0), 0u);
}

}  // namespace
}  // namespace banger
