// parse_start_time: field 22 of /proc/PID/stat, counted after the last ')'
// because comm (field 2) is chosen by the process and may hold ") " itself.
#include <gtest/gtest.h>

#include <string>

#include "drivers/process.h"

namespace banger {
namespace {

// Fields 3..52 of a real line (kernel 6.x), start time 98765 at field 22.
std::string tail_with_start(const std::string& start) {
  return " S 1 4242 4242 0 -1 4194560 111 0 0 0 1 2 0 0 20 0 1 0 " + start +
         " 2625536 150 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 "
         "0\n";
}

TEST(ParseStartTime, PlainLine) {
  EXPECT_EQ(parse_start_time("4242 (sleep)" + tail_with_start("98765")), 98765u);
}

TEST(ParseStartTime, CommWithParenthesesAndSpaces) {
  // Seen on a real host: a process named "evil) name x" (host-apis.md §8).
  EXPECT_EQ(parse_start_time("4515 (evil) name x)" + tail_with_start("98765")), 98765u);
  // A comm that fakes a whole stat tail must not be read as one.
  std::string fake_comm = "(x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 11111 1)";
  EXPECT_EQ(parse_start_time("77 " + fake_comm + tail_with_start("98765")), 98765u);
}

TEST(ParseStartTime, LargeValueUsesAll64Bits) {
  EXPECT_EQ(parse_start_time("1 (init)" + tail_with_start("18446744073709551615")),
            18446744073709551615ull);
}

TEST(ParseStartTime, WithoutTrailingNewline) {
  std::string line = "1 (a) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 42";
  EXPECT_EQ(parse_start_time(line), 42u);
}

TEST(ParseStartTime, MalformedLinesAreRejected) {
  EXPECT_FALSE(parse_start_time(""));
  EXPECT_FALSE(parse_start_time("garbage"));
  EXPECT_FALSE(parse_start_time("12 sleep S 1 2 3"));                // no parentheses
  EXPECT_FALSE(parse_start_time("12 ) (x" + tail_with_start("5")));  // ')' before '('
  // Too few fields: field 22 is missing.
  EXPECT_FALSE(parse_start_time("12 (sleep) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"));
  // Field 22 not a number, negative, or overflowing 64 bits.
  EXPECT_FALSE(parse_start_time("12 (sleep)" + tail_with_start("12ab")));
  EXPECT_FALSE(parse_start_time("12 (sleep)" + tail_with_start("-5")));
  EXPECT_FALSE(parse_start_time("12 (sleep)" + tail_with_start("18446744073709551616")));
  // The state (field 3) must be a single character.
  EXPECT_FALSE(parse_start_time("12 (sleep) SS" + tail_with_start("5").substr(2)));
}

}  // namespace
}  // namespace banger
