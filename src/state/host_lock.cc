// HostLock: one apply/delete at a time per host (per state dir). flock is
// released by the kernel when the process dies, so a crash never leaves a
// stale lock behind. The lock lives on the open file description: O_CLOEXEC
// keeps spawned hypervisors from inheriting it, but a child forked without
// exec would hold it until it exits.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/host_error.h"
#include "state/state_dir.h"
#include "state/host_lock.h"

namespace banger {

HostLock::HostLock(const std::string& state_dir, bool wait, const std::function<void()>& on_wait) {
  ensure_state_dir(state_dir);
  const std::string path = state_dir + "/lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0)
    throw HostError(errno_message("opening lock file " + path, errno) +
                    "; run as root or choose another --state-dir", code_of_errno(errno));
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc == 0) return;
  const int err = errno;
  if (err != EWOULDBLOCK) {
    ::close(fd_);
    throw HostError::from_errno("locking " + path, err);
  }
  if (!wait) {
    ::close(fd_);
    throw HostError("another banger apply/delete is running on this host (lock " + path +
                    "); wait or retry",
                    ErrorCode::Busy);
  }
  if (on_wait) on_wait();
  while ((rc = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int e = errno;
    ::close(fd_);
    throw HostError::from_errno("waiting for lock " + path, e);
  }
}

HostLock::~HostLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last fd releases the flock
}

}  // namespace banger
