// Helpers for tests that run inside the private network namespace that
// netns_main.cc made.
#pragma once

#include <gtest/gtest.h>

namespace banger::test {

extern bool g_in_private_netns;
void bring_up_loopback();
/// Up or down: lo of the test's own private namespace.
void set_loopback(bool up);

}  // namespace banger::test

/// First line of every driver test that touches the network.
#define REQUIRE_PRIVATE_NETNS()                                                   \
  do {                                                                            \
    if (!::banger::test::g_in_private_netns) GTEST_SKIP() << "needs root (netns)"; \
  } while (0)
