// LazyLib: a library opened on first use must say which package is missing,
// and hand out working symbols.
#include "common/lazy_lib.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/host_error.h"

namespace banger {
namespace {

TEST(LazyLib, AMissingLibraryNamesItsPackage) {
  try {
    LazyLib lib("libbanger-no-such-library.so.7", "libbanger-nothing7");
    FAIL() << "opened a library that does not exist";
  } catch (const HostError& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("libbanger-no-such-library.so.7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("install the Debian package libbanger-nothing7"), std::string::npos)
        << e.what();
  }
}

TEST(LazyLib, SymbolsWorkAndAMissingOneIsAnError) {
  LazyLib libc("libc.so.6", "libc6");
  auto my_pid = libc.symbol<decltype(&::getpid)>("getpid");
  EXPECT_EQ(my_pid(), ::getpid());
  try {
    libc.symbol<void (*)()>("banger_no_such_symbol");
    FAIL() << "found a symbol that does not exist";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("has no banger_no_such_symbol"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace banger
