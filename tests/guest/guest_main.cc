// main() of guest_tests: says which kernel the tests run on and whether it has
// device-mapper, so a log shows at once whether they ran in the guest (where
// tests/guest/run-in-guest.sh runs them) or skipped on the host.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

#include "guest_env.h"

int main(int argc, char** argv) {
  // Hypervisor drivers start VMs through banger-launch, which lives beside
  // banger, not beside the test binaries.
  setenv("BANGER_LAUNCH", BANGER_LAUNCH_BIN, 0);
  struct utsname u {};
  ::uname(&u);
  std::printf("guest_tests: kernel %s, device-mapper %s, %s\n", u.release,
              banger::test::kernel_has_device_mapper() ? "available" : "NOT available (no device-mapper in /proc/misc)",
              banger::test::inside_guest() ? "inside the test guest (BANGER_GUEST=1)"
                                           : "not inside the test guest: guest tests skip");
  std::fflush(stdout);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
