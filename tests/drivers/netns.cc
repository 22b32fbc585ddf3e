#include "netns.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace banger::test {

void set_loopback(bool up) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    if (up) {
      ifr.ifr_flags |= IFF_UP;
    } else {
      ifr.ifr_flags &= ~IFF_UP;
    }
    ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  close(fd);
}

void bring_up_loopback() { set_loopback(true); }

}  // namespace banger::test
