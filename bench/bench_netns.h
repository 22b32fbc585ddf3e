// The benches' own network namespace, set up as a host's is: a private one
// (nothing they make touches the host's links or tables) whose lo is up.
// A host's lo is up, and with it banger waits until a network's DNS server
// answers a VM's new name; a new namespace's lo is down.
#pragma once

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace banger::bench {

/// False, with the reason on stderr, when not root or lo cannot be brought up.
inline bool enter_private_netns(const char* program) {
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "%s needs root (a private network namespace)\n", program);
    return false;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags |= IFF_UP;
    ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  if (fd >= 0) close(fd);
  if (!ok) std::fprintf(stderr, "%s: bringing up lo: %s\n", program, std::strerror(errno));
  return ok;
}

}  // namespace banger::bench
