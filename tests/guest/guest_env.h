// Helpers for tests that run inside the throwaway QEMU guest
// (tests/guest/run-in-guest.sh, ctest guest_disk_tests): Debian's kernel with
// device-mapper, loop, tun, bridge and nf_tables, the host's root read-only over
// 9p, tmpfs on /tmp, /var/tmp, /run and /var/lib/banger, and only `lo` as network.
// guest-init sets BANGER_GUEST=1 for the command it runs; anywhere else (the
// guest_tests binary run on the host) tests skip with a message instead of failing.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace banger::test {

inline bool inside_guest() {
  const char* v = std::getenv("BANGER_GUEST");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// /proc/misc lists "236 device-mapper" once dm-mod is loaded (no side effects,
// unlike opening /dev/mapper/control, which may autoload it).
inline bool kernel_has_device_mapper() {
  std::ifstream misc("/proc/misc");
  std::string line;
  while (std::getline(misc, line)) {
    if (line.size() >= 14 && line.compare(line.size() - 13, 13, "device-mapper") == 0) return true;
  }
  return false;
}

}  // namespace banger::test

// First statement of a test that needs the guest's kernel (or may write where
// only the guest is writable): skips, with how to run it, anywhere else.
#define REQUIRE_GUEST()                                                                 \
  do {                                                                                  \
    if (!::banger::test::inside_guest()) {                                              \
      GTEST_SKIP() << "not inside the test guest (BANGER_GUEST=1 unset): run "          \
                      "tests/guest/run-in-guest.sh CACHE -- guest_tests, or ctest -R "  \
                      "guest_disk_tests";                                               \
    }                                                                                   \
  } while (0)
