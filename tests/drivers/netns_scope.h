// Extra network namespaces inside the test's private one: a fresh
// namespace kept alive by an fd (no /run/netns name, so it vanishes with
// this process), and a scope that puts the calling thread, and the
// processes it forks, in it. For tests that need more than one network
// stack: a guest and a client (nat_traffic_test.cc), a second host
// (fleet_e2e_test.cc).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace banger::test {

inline int open_ns(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("open ") + path);
  return fd;
}

/// A fresh network namespace kept alive by an fd; the calling thread stays where it was.
class Netns {
 public:
  Netns() : back_(open_ns("/proc/thread-self/ns/net")) {
    if (unshare(CLONE_NEWNET) != 0) throw std::runtime_error("unshare(CLONE_NEWNET)");
    fd_ = open_ns("/proc/thread-self/ns/net");
    if (setns(back_, CLONE_NEWNET) != 0) std::abort();  // must never stay in the wrong netns
  }
  ~Netns() { ::close(fd_), ::close(back_); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  int fd() const { return fd_; }
  /// What `ip link set DEV netns PATH` takes.
  std::string path() const { return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_); }

 private:
  int back_, fd_ = -1;
};

/// The calling thread (and the processes it forks) in `ns` for a scope.
class InNetns {
 public:
  explicit InNetns(const Netns& ns) : back_(open_ns("/proc/thread-self/ns/net")) {
    if (setns(ns.fd(), CLONE_NEWNET) != 0) throw std::runtime_error("setns");
  }
  ~InNetns() {
    if (setns(back_, CLONE_NEWNET) != 0) std::abort();
    ::close(back_);
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

 private:
  int back_;
};

}  // namespace banger::test
