// HostLock: one apply/delete at a time per host (per state dir). flock is
// released by the kernel when the process dies, so a crash never leaves a
// stale lock behind (the holder text it wrote stays, but nobody holds it).
// The lock lives on the open file description: O_CLOEXEC keeps spawned
// hypervisors from inheriting it, but a child forked without exec would hold
// it until it exits.
#include "state/host_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <thread>

#include "common/host_error.h"
#include "resources/quantity.h"
#include "state/state_dir.h"

namespace banger {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool try_lock(int fd) {
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof buf, at)) > 0 && text.size() < 4096) {
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

}  // namespace

std::string HostLock::describe_holder(const std::string& text) {
  // "PID\tCOMMAND\tSTART_MS\n", as the holder wrote it.
  std::istringstream in(text);
  std::string pid, command, start;
  if (!std::getline(in, pid, '\t') || !std::getline(in, command, '\t') || !std::getline(in, start, '\n') ||
      pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ||
      start.find_first_not_of("0123456789") != std::string::npos || start.empty()) {
    return "another banger run";
  }
  int64_t ago = std::max<int64_t>(0, (now_ms() - std::stoll(start)) / 1000);
  return "pid " + pid + " (" + command + ", started " + std::to_string(ago) + " s ago)";
}

HostLock::HostLock(const std::string& state_dir, const HostLockOptions& opts) {
  ensure_state_dir(state_dir);
  const std::string path = state_dir + "/lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0)
    throw HostError(errno_message("opening lock file " + path, errno) +
                    "; run as root or choose another --state-dir", code_of_errno(errno));
  auto give_up = [&](const std::string& message, ErrorCode code) {
    ::close(fd_);
    fd_ = -1;
    throw HostError(message, code);
  };
  if (!try_lock(fd_)) {
    if (errno != EWOULDBLOCK) give_up(errno_message("locking " + path, errno), code_of_errno(errno));
    const std::string holder = describe_holder(read_all(fd_));
    if (!opts.wait) {
      give_up("the host lock " + path + " is held by " + holder + "; wait or retry", ErrorCode::Busy);
    }
    if (opts.on_wait) opts.on_wait(holder);
    // Polled rather than a blocking flock, so that a timeout needs no
    // signal; 50 ms is nothing next to an apply.
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    while (!try_lock(fd_)) {
      if (errno != EWOULDBLOCK) give_up(errno_message("waiting for lock " + path, errno), code_of_errno(errno));
      if (opts.timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline) {
        give_up("gave up after " + format_duration(opts.timeout) + " waiting for the host lock " + path + ", held by " + describe_holder(read_all(fd_)),
                ErrorCode::Busy);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Who holds it now, for a run that has to wait.
  std::string me = std::to_string(::getpid()) + "\t" + opts.command + "\t" + std::to_string(now_ms()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    give_up(errno_message("writing " + path, errno), code_of_errno(errno));
  }
}

HostLock::~HostLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last fd releases the flock
}

}  // namespace banger
