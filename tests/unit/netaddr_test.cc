// IPv4 addresses and CIDR blocks: strict parsing and the arithmetic banger
// relies on for bridges (gateway), kernel ip= arguments (netmask) and checks.
#include "resources/netaddr.h"

#include <gtest/gtest.h>

#include <string>

namespace banger {
namespace {

Ipv4 ip(const char* s) {
  auto v = parse_ipv4(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or(Ipv4{});
}

Cidr cidr(const char* s) {
  auto v = parse_cidr(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or(Cidr{});
}

TEST(ParseIpv4, Valid) {
  EXPECT_EQ(parse_ipv4("0.0.0.0"), Ipv4{0});
  EXPECT_EQ(parse_ipv4("255.255.255.255"), Ipv4{0xffffffffu});
  EXPECT_EQ(parse_ipv4("10.42.0.11"), Ipv4{0x0a2a000bu});
  EXPECT_EQ(parse_ipv4("172.20.0.1"), Ipv4{0xac140001u});
  EXPECT_EQ(parse_ipv4("1.2.3.4"), Ipv4{0x01020304u});
  EXPECT_EQ(parse_ipv4("192.168.100.200"), Ipv4{0xc0a864c8u});
}

TEST(ParseIpv4, LeadingZerosAreRefused) {
  // 010 is octal to inet_aton and decimal to others: never guess.
  for (const char* s : {"01.2.3.4", "1.02.3.4", "1.2.03.4", "1.2.3.04", "1.2.3.00", "00.0.0.0",
                        "010.0.0.1", "1.2.3.004", "0001.2.3.4"}) {
    EXPECT_EQ(parse_ipv4(s), std::nullopt) << s;
  }
}

TEST(ParseIpv4, OutOfRangeOctetsAreRefused) {
  for (const char* s : {"256.1.1.1", "1.256.1.1", "1.1.256.1", "1.1.1.256", "999.1.1.1",
                        "1.2.3.1000", "300.300.300.300", "4294967296.0.0.0"}) {
    EXPECT_EQ(parse_ipv4(s), std::nullopt) << s;
  }
}

TEST(ParseIpv4, MissingOrExtraPartsAreRefused) {
  for (const char* s : {"", "1", "1.2", "1.2.3", "1.2.3.", ".1.2.3", "1..3.4", "1.2..4", "...",
                        "1.2.3.4.", "1.2.3.4.5", ".1.2.3.4", "1.2.3.4/24", "1.2.3.4:80"}) {
    EXPECT_EQ(parse_ipv4(s), std::nullopt) << s;
  }
}

TEST(ParseIpv4, JunkIsRefused) {
  for (const char* s : {"a.b.c.d", "1.2.3.x", "0x1.2.3.4", "1.2.3.0x4", "+1.2.3.4", "-1.2.3.4",
                        "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "1. 2.3.4", "::1",
                        "::ffff:1.2.3.4", "localhost", "1.2.3.4e0", "١.2.3.4"}) {
    EXPECT_EQ(parse_ipv4(s), std::nullopt) << s;
  }
  EXPECT_EQ(parse_ipv4(std::string_view("1.2.3.4\0", 8)), std::nullopt);
  EXPECT_EQ(parse_ipv4(std::string_view("1.2\0.3.4", 8)), std::nullopt);
}

TEST(Ipv4, StrRoundTrips) {
  for (const char* s : {"0.0.0.0", "255.255.255.255", "10.42.0.11", "172.20.0.1", "1.0.0.255"}) {
    EXPECT_EQ(ip(s).str(), s);
  }
  EXPECT_EQ(Ipv4{0x0a000001u}.str(), "10.0.0.1");
}

TEST(Ipv4, OrdersNumerically) {
  EXPECT_LT(ip("10.0.0.2"), ip("10.0.0.10"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_EQ(ip("10.0.0.1"), ip("10.0.0.1"));
}

TEST(ParseCidr, Valid) {
  Cidr c = cidr("10.42.0.0/24");
  EXPECT_EQ(c.base, ip("10.42.0.0"));
  EXPECT_EQ(c.prefix, 24);
  EXPECT_EQ(cidr("0.0.0.0/0").prefix, 0);
  EXPECT_EQ(cidr("1.2.3.4/32").prefix, 32);
  EXPECT_EQ(cidr("172.20.0.0/16").prefix, 16);
}

TEST(ParseCidr, HostBitsAreKeptForTheCallerToJudge) {
  Cidr c = cidr("10.0.0.5/24");
  EXPECT_EQ(c.base, ip("10.0.0.5"));
  EXPECT_EQ(c.network(), ip("10.0.0.0"));
  EXPECT_NE(c.base, c.network());
  EXPECT_EQ(c.str(), "10.0.0.5/24");
}

TEST(ParseCidr, Invalid) {
  for (const char* s : {"", "10.0.0.0", "10.0.0.0/", "/24", "10.0.0.0/33", "10.0.0.0/99",
                        "10.0.0.0/100", "10.0.0.0/024", "10.0.0.0/00", "10.0.0.0/-1",
                        "10.0.0.0/+8", "10.0.0.0/24/8", "10.0.0/24", "10.0.0.0.0/24",
                        "10.0.0.0 /24", "10.0.0.0/ 24", "10.0.0.0/24 ", "10.0.0.0/2x",
                        "010.0.0.0/8", "256.0.0.0/8", "10.0.0.0/255.255.255.0", "10.0.0.0\\24",
                        "a.b.c.d/8", "10.0.0.0//24"}) {
    EXPECT_EQ(parse_cidr(s), std::nullopt) << s;
  }
}

TEST(Cidr, Slash24) {
  Cidr c = cidr("172.20.0.0/24");
  EXPECT_EQ(c.mask(), 0xffffff00u);
  EXPECT_EQ(c.network(), ip("172.20.0.0"));
  EXPECT_EQ(c.gateway(), ip("172.20.0.1"));
  EXPECT_EQ(c.broadcast(), ip("172.20.0.255"));
  EXPECT_EQ(c.netmask(), "255.255.255.0");
  EXPECT_EQ(c.str(), "172.20.0.0/24");
}

TEST(Cidr, OtherPrefixes) {
  Cidr c16 = cidr("10.42.0.0/16");
  EXPECT_EQ(c16.netmask(), "255.255.0.0");
  EXPECT_EQ(c16.broadcast(), ip("10.42.255.255"));
  EXPECT_EQ(c16.gateway(), ip("10.42.0.1"));

  Cidr c29 = cidr("10.0.0.8/29");
  EXPECT_EQ(c29.netmask(), "255.255.255.248");
  EXPECT_EQ(c29.network(), ip("10.0.0.8"));
  EXPECT_EQ(c29.gateway(), ip("10.0.0.9"));
  EXPECT_EQ(c29.broadcast(), ip("10.0.0.15"));

  Cidr c20 = cidr("192.168.16.0/20");
  EXPECT_EQ(c20.netmask(), "255.255.240.0");
  EXPECT_EQ(c20.broadcast(), ip("192.168.31.255"));

  Cidr all = cidr("0.0.0.0/0");
  EXPECT_EQ(all.mask(), 0u);
  EXPECT_EQ(all.netmask(), "0.0.0.0");
  EXPECT_EQ(all.broadcast(), ip("255.255.255.255"));

  Cidr host = cidr("1.2.3.4/32");
  EXPECT_EQ(host.mask(), 0xffffffffu);
  EXPECT_EQ(host.netmask(), "255.255.255.255");
  EXPECT_EQ(host.network(), ip("1.2.3.4"));
  EXPECT_EQ(host.broadcast(), ip("1.2.3.4"));
}

TEST(Cidr, DerivedAddressesUseTheNetworkNotTheWrittenBase) {
  Cidr c = cidr("10.0.0.77/24");
  EXPECT_EQ(c.network(), ip("10.0.0.0"));
  EXPECT_EQ(c.gateway(), ip("10.0.0.1"));
  EXPECT_EQ(c.broadcast(), ip("10.0.0.255"));
}

TEST(Cidr, Contains) {
  Cidr c = cidr("10.42.0.0/24");
  EXPECT_TRUE(c.contains(ip("10.42.0.0")));
  EXPECT_TRUE(c.contains(ip("10.42.0.1")));
  EXPECT_TRUE(c.contains(ip("10.42.0.128")));
  EXPECT_TRUE(c.contains(ip("10.42.0.255")));
  EXPECT_FALSE(c.contains(ip("10.42.1.0")));
  EXPECT_FALSE(c.contains(ip("10.41.255.255")));
  EXPECT_FALSE(c.contains(ip("0.0.0.0")));
  EXPECT_FALSE(c.contains(ip("255.255.255.255")));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("8.8.8.8")));
  EXPECT_TRUE(cidr("1.2.3.4/32").contains(ip("1.2.3.4")));
  EXPECT_FALSE(cidr("1.2.3.4/32").contains(ip("1.2.3.5")));
}

TEST(Cidr, Overlaps) {
  Cidr a = cidr("10.0.0.0/24");
  EXPECT_TRUE(a.overlaps(a));
  EXPECT_TRUE(a.overlaps(cidr("10.0.0.0/16")));
  EXPECT_TRUE(cidr("10.0.0.0/16").overlaps(a));
  EXPECT_TRUE(a.overlaps(cidr("10.0.0.128/25")));
  EXPECT_TRUE(cidr("10.0.0.128/25").overlaps(a));
  EXPECT_TRUE(cidr("172.20.0.0/16").overlaps(cidr("172.20.0.0/24")));
  EXPECT_TRUE(cidr("0.0.0.0/0").overlaps(a));
  // Adjacent and disjoint blocks do not overlap, in either order.
  EXPECT_FALSE(a.overlaps(cidr("10.0.1.0/24")));
  EXPECT_FALSE(cidr("10.0.1.0/24").overlaps(a));
  EXPECT_FALSE(cidr("10.0.0.0/25").overlaps(cidr("10.0.0.128/25")));
  EXPECT_FALSE(cidr("10.0.0.128/25").overlaps(cidr("10.0.0.0/25")));
  EXPECT_FALSE(a.overlaps(cidr("192.168.0.0/16")));
  // Written with host bits: compared by network.
  EXPECT_TRUE(cidr("10.0.0.200/24").overlaps(cidr("10.0.0.5/24")));
}

}  // namespace
}  // namespace banger
