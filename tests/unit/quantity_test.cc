// Sizes and durations: what users write for memory, diskSize and readiness timeouts.
#include "resources/quantity.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace banger {
namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------- parse_size

TEST(ParseSize, BinarySuffixes) {
  EXPECT_EQ(parse_size("1Ki"), std::optional<uint64_t>(1024));
  EXPECT_EQ(parse_size("512Mi"), std::optional<uint64_t>(536870912));
  EXPECT_EQ(parse_size("2Gi"), std::optional<uint64_t>(2147483648ull));
  EXPECT_EQ(parse_size("1Ti"), std::optional<uint64_t>(1099511627776ull));
  EXPECT_EQ(parse_size("16Ti"), std::optional<uint64_t>(16 * TiB));
  EXPECT_EQ(parse_size("1024Mi"), std::optional<uint64_t>(GiB));
}

TEST(ParseSize, WholeFractions) {
  EXPECT_EQ(parse_size("1.5Gi"), std::optional<uint64_t>(1536 * MiB));
  EXPECT_EQ(parse_size("0.5Ki"), std::optional<uint64_t>(512));
  EXPECT_EQ(parse_size("1.25Mi"), std::optional<uint64_t>(1280 * KiB));
  EXPECT_EQ(parse_size("2.50Mi"), std::optional<uint64_t>(2560 * KiB));
  EXPECT_EQ(parse_size("0.001953125Mi"), std::optional<uint64_t>(2048));  // 2^-9 Mi
  EXPECT_EQ(parse_size("3.0Gi"), std::optional<uint64_t>(3 * GiB));
}

TEST(ParseSize, ByteCounts) {
  EXPECT_EQ(parse_size("0"), std::optional<uint64_t>(0));
  EXPECT_EQ(parse_size("1"), std::optional<uint64_t>(1));
  EXPECT_EQ(parse_size("1000"), std::optional<uint64_t>(1000));
  EXPECT_EQ(parse_size("536870912"), std::optional<uint64_t>(512 * MiB));
  EXPECT_EQ(parse_size("999999999999999"), std::optional<uint64_t>(999999999999999ull));
}

TEST(ParseSize, Zero) {
  EXPECT_EQ(parse_size("0"), std::optional<uint64_t>(0));
  EXPECT_EQ(parse_size("0Mi"), std::optional<uint64_t>(0));
  EXPECT_EQ(parse_size("0.0Gi"), std::optional<uint64_t>(0));
}

TEST(ParseSize, FractionsThatAreNotWholeBytesAreRefused) {
  EXPECT_EQ(parse_size("1.5"), std::nullopt);    // 1.5 bytes
  EXPECT_EQ(parse_size("0.1Ki"), std::nullopt);  // 102.4 bytes
  EXPECT_EQ(parse_size("0.3Ki"), std::nullopt);  // 307.2 bytes
  EXPECT_EQ(parse_size("1.0000000001Gi"), std::nullopt);
  EXPECT_EQ(parse_size("1.000000000001Ti"), std::nullopt);
}

TEST(ParseSize, OverflowIsRefused) {
  EXPECT_EQ(parse_size("99999999999999Ti"), std::nullopt);
  EXPECT_EQ(parse_size("16777216Ti"), std::nullopt);  // exactly 2^64
  EXPECT_EQ(parse_size("17179869184Gi"), std::nullopt);  // 2^34 Gi = 2^64
  EXPECT_EQ(parse_size("99999999999999.5Ti"), std::nullopt);
  // The largest whole number of Ti that fits.
  EXPECT_EQ(parse_size("16777215Ti"), std::optional<uint64_t>(16777215ull * TiB));
}

TEST(ParseSize, JunkIsRefused) {
  for (const char* s :
       {"", "Mi", "Gi", "Ki", "Ti", ".5Gi", "1.", "1.Gi", ".", ".Mi", "-1", "-1Gi", "+1Gi", "1 Gi",
        " 1Gi", "1Gi ", "1G", "1M", "1K", "1T", "1GB", "1GiB", "1gi", "1mi", "1e3", "1E3", "0x10",
        "1..5Gi", "1.2.3", "1.2.3Gi", "abc", "1Mi1", "Ki1", "1KiKi", "1Pi", "1Ei", "one", "1,5Gi",
        "1_000", "\t1", "1\n", "Mi1", "i", "1i"}) {
    EXPECT_EQ(parse_size(s), std::nullopt) << "input: \"" << s << "\"";
  }
  EXPECT_EQ(parse_size(std::string_view("1\0Mi", 4)), std::nullopt);
}

TEST(ParseSize, VeryLongInputIsRefusedQuickly) {
  EXPECT_EQ(parse_size(std::string(100000, '9')), std::nullopt);
  EXPECT_EQ(parse_size(std::string(100000, '9') + "Gi"), std::nullopt);
  EXPECT_EQ(parse_size("1." + std::string(100000, '0') + "Gi"), std::nullopt);
}

// --------------------------------------------------------------- format_size

TEST(FormatSize, LargestExactUnit) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1), "1");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(1023), "1023");
  EXPECT_EQ(format_size(1025), "1025");
  EXPECT_EQ(format_size(1024), "1Ki");
  EXPECT_EQ(format_size(536870912), "512Mi");
  EXPECT_EQ(format_size(1572864), "1536Ki");
  EXPECT_EQ(format_size(1536 * MiB), "1536Mi");
  EXPECT_EQ(format_size(GiB), "1Gi");
  EXPECT_EQ(format_size(2 * GiB), "2Gi");
  EXPECT_EQ(format_size(3 * TiB), "3Ti");
  EXPECT_EQ(format_size(1024 * TiB), "1024Ti");
  EXPECT_EQ(format_size(16777215ull * TiB), "16777215Ti");
  EXPECT_EQ(format_size(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
}

TEST(FormatSize, RoundTripsThroughParse) {
  std::vector<uint64_t> values = {0,       1,       7,        1000,      1023,      1024,
                                  1536,    4095,    MiB,      MiB + 1,   512 * MiB, 1536 * MiB,
                                  GiB,     GiB - 1, 3 * GiB,  TiB,       16 * TiB,  16 * TiB + 4096,
                                  123456789012345ull};
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    // Below 64Ti, with a varying number of trailing zero bits so every unit is used.
    int shift = static_cast<int>(rng() % 41);
    values.push_back((rng() % (uint64_t{1} << (46 - shift))) << shift);
  }
  for (uint64_t v : values) {
    std::string text = format_size(v);
    auto back = parse_size(text);
    ASSERT_TRUE(back.has_value()) << v << " -> " << text;
    EXPECT_EQ(*back, v) << text;
  }
}

TEST(FormatSize, CanonicalSpellingsRoundTrip) {
  for (const char* s : {"0", "1", "1000", "1Ki", "1536Ki", "512Mi", "1Gi", "3Gi", "1Ti", "20Ti"}) {
    auto v = parse_size(s);
    ASSERT_TRUE(v.has_value()) << s;
    EXPECT_EQ(format_size(*v), s);
  }
  // Non-canonical spellings come back canonical.
  EXPECT_EQ(format_size(*parse_size("1.5Gi")), "1536Mi");
  EXPECT_EQ(format_size(*parse_size("2048Mi")), "2Gi");
  EXPECT_EQ(format_size(*parse_size("1048576")), "1Mi");
}

// ------------------------------------------------------------ parse_duration

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("120s"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1m30s"), milliseconds(90000));
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  EXPECT_EQ(parse_duration("1h1m1s1ms"), milliseconds(3661001));
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds(1500));
  EXPECT_EQ(parse_duration("90m"), milliseconds(5400000));
  EXPECT_EQ(parse_duration("999999999ms"), milliseconds(999999999));
}

TEST(ParseDuration, JunkIsRefused) {
  for (const char* s : {"",     "10",   "s",      "ms",    "m",    "h",    "1.5s", "-1s",
                        "+1s",  "1 s",  " 1s",    "1s ",   "1d",   "1us",  "1µs",  "1ns",
                        "1sec", "1m30", "1S",     "1H",    "1M",   "m1",   "1ms1", "s1",
                        "1s-",  "1x",   "1ss",    "1mss",  "0x10s", "1e3s", "1,5s", "one s"}) {
    EXPECT_EQ(parse_duration(s), std::nullopt) << "input: \"" << s << "\"";
  }
  EXPECT_EQ(parse_duration(std::string_view("1s\0", 3)), std::nullopt);
}

TEST(ParseDuration, AbsurdlyLongNumbersAreRefused) {
  EXPECT_EQ(parse_duration("9999999999s"), std::nullopt);
  EXPECT_EQ(parse_duration(std::string(100000, '9') + "s"), std::nullopt);
}

// A duration is never negative and never wraps: a sum that does not fit must
// be refused, not come back as a small or negative value that could pass a
// range check.
TEST(ParseDuration, HugeSumsDoNotWrap) {
  std::string many;
  for (int i = 0; i < 2600; ++i) many += "999999999h";  // ~9.4e18 ms > INT64_MAX
  auto d = parse_duration(many);
  if (d) {
    EXPECT_GE(d->count(), 0) << "parse_duration wrapped to a negative duration";
  }
  EXPECT_EQ(d, std::nullopt) << "a sum larger than 64 bits of milliseconds must be refused";
}

// ----------------------------------------------------------- format_duration

TEST(FormatDuration, Spellings) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(1000)), "1s");
  EXPECT_EQ(format_duration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(3600000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(3661000)), "1h1m1s");
  EXPECT_EQ(format_duration(milliseconds(3601000)), "1h1s");
  EXPECT_EQ(format_duration(milliseconds(86400000)), "24h");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  std::vector<long long> values = {0, 1, 999, 1000, 1001, 59000, 60000, 61000, 3599000,
                                   3600000, 3600001, 7322000, 86400000};
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    long long v = rng() % 100000000;
    values.push_back(i % 2 ? v : v / 1000 * 1000);
  }
  for (long long v : values) {
    std::string text = format_duration(milliseconds(v));
    auto back = parse_duration(text);
    ASSERT_TRUE(back.has_value()) << v << " -> " << text;
    EXPECT_EQ(back->count(), v) << text;
  }
}

}  // namespace
}  // namespace banger
