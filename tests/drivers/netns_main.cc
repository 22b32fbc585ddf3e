// main() for driver tests: moves this process into a fresh network namespace
// before any thread exists, so the tests see an empty network (lo only) and
// can never touch the host's interfaces, routes, sysctls or nft tables. The
// namespace disappears with the process, also when a test crashes.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "netns.h"

namespace banger::test {
bool g_in_private_netns = false;
}

int main(int argc, char** argv) {
  // Hypervisor drivers start VMs through banger-launch, which lives beside
  // banger, not beside the test binaries.
  setenv("BANGER_LAUNCH", BANGER_LAUNCH_BIN, 0);
  if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0) {
    banger::test::g_in_private_netns = true;
    banger::test::bring_up_loopback();
  } else {
    std::fprintf(stderr, "driver_tests: not root or no CLONE_NEWNET; tests that need it skip\n");
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
