// Name rules (Kubernetes-compatible), bridge names that fit IFNAMSIZ, and
// the "did you mean" suggestions every error message relies on.
#include "resources/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace banger {
namespace {

// ------------------------------------------------------------ DNS-1123 label

TEST(Dns1123Label, Valid) {
  for (std::string s : {"a", "0", "web", "web-1", "1abc", "a-b-c", "a--b", "debian-12", "x9"}) {
    EXPECT_TRUE(is_dns1123_label(s)) << s;
  }
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
  EXPECT_TRUE(is_dns1123_label("a" + std::string(61, '-') + "b"));
}

TEST(Dns1123Label, Invalid) {
  for (std::string s : {"", "-a", "a-", "-", "A", "Web", "web_1", "web.1", "wéb", "a b", " a",
                        "a\n", "a/b", "a:b", "ab*", "\xff"}) {
    EXPECT_FALSE(is_dns1123_label(s)) << s;
  }
  EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns1123_label(std::string("a\0b", 3)));
}

TEST(Dns1123Label, BoundaryIs63) {
  std::string s62(62, 'b'), s63(63, 'c'), s64(64, 'd');
  EXPECT_TRUE(is_dns1123_label(s62));
  EXPECT_TRUE(is_dns1123_label(s63));
  EXPECT_FALSE(is_dns1123_label(s64));
}

// ----------------------------------------------------------------- label keys

TEST(LabelKey, ValidWithoutPrefix) {
  for (std::string s : {"app", "App", "tier", "a", "a_b", "a.b", "a-b", "A1", "9", "x.y_z-w"}) {
    EXPECT_TRUE(is_label_key(s)) << s;
  }
  EXPECT_TRUE(is_label_key(std::string(63, 'k')));
}

TEST(LabelKey, ValidWithPrefix) {
  for (std::string s : {"example.com/app", "app.kubernetes.io/name", "banger.dev/owner",
                        "a/b", "a.b.c/Name_1", "my-org.example/x"}) {
    EXPECT_TRUE(is_label_key(s)) << s;
  }
  EXPECT_TRUE(is_label_key("example.com/" + std::string(63, 'n')));
  // A 253-character subdomain prefix is the longest allowed.
  std::string prefix = std::string(63, 'p') + "." + std::string(63, 'q') + "." +
                       std::string(63, 'r') + "." + std::string(61, 's');
  ASSERT_EQ(prefix.size(), 253u);
  EXPECT_TRUE(is_label_key(prefix + "/k"));
}

TEST(LabelKey, Invalid) {
  for (std::string s : {"", "-app", "app-", "_app", "app_", ".app", "app.", "app name", "a:b",
                        "/app", "example.com/", "Example.com/app", "a/b/c", "exa_mple.com/app",
                        "a..b/app", ".a/app", "a./app", "-a.com/app", "example.com/-x",
                        "example.com//x", "app\n"}) {
    EXPECT_FALSE(is_label_key(s)) << s;
  }
  EXPECT_FALSE(is_label_key(std::string(64, 'k')));
  EXPECT_FALSE(is_label_key("example.com/" + std::string(64, 'n')));
  EXPECT_FALSE(is_label_key(std::string(64, 'p') + ".com/app"));  // a label over 63
  std::string prefix254 = std::string(63, 'p') + "." + std::string(63, 'q') + "." +
                          std::string(63, 'r') + "." + std::string(62, 's');
  ASSERT_EQ(prefix254.size(), 254u);
  EXPECT_FALSE(is_label_key(prefix254 + "/k"));
}

// --------------------------------------------------------------- label values

TEST(LabelValue, Valid) {
  for (std::string s : {"", "web", "v1.2.3", "A_b-c.d", "1", "prod", "x"}) {
    EXPECT_TRUE(is_label_value(s)) << s;
  }
  EXPECT_TRUE(is_label_value(std::string(63, 'v')));
}

TEST(LabelValue, Invalid) {
  for (std::string s : {"-web", "web-", ".x", "x.", "_x", "a b", "a/b", "a:b", "é", "a\tb"}) {
    EXPECT_FALSE(is_label_value(s)) << s;
  }
  EXPECT_FALSE(is_label_value(std::string(64, 'v')));
}

// ------------------------------------------------------------ interface names

TEST(InterfaceName, Valid) {
  for (std::string s : {"bg-fleet", "eth0", "a", "a.b", "a_b", "br-0", "Bridge1", "..."}) {
    EXPECT_TRUE(is_interface_name(s)) << s;
  }
  EXPECT_TRUE(is_interface_name(std::string(15, 'i')));
  EXPECT_EQ(kMaxIfName, 15u);
}

TEST(InterfaceName, Invalid) {
  for (std::string s : {"", ".", "..", "a/b", "a b", "a:b", "a\nb", "é", "a@b", "a%d"}) {
    EXPECT_FALSE(is_interface_name(s)) << s;
  }
  EXPECT_FALSE(is_interface_name(std::string(16, 'i')));
  EXPECT_FALSE(is_interface_name(std::string("a\0b", 3)));
}

// ------------------------------------------------------- default bridge names

TEST(DefaultBridgeName, ShortNamesArePrefixed) {
  EXPECT_EQ(default_bridge_name("fleet"), "bg-fleet");
  EXPECT_EQ(default_bridge_name("default"), "bg-default");
  EXPECT_EQ(default_bridge_name("a"), "bg-a");
  EXPECT_EQ(default_bridge_name("abcdefghijkl"), "bg-abcdefghijkl");  // exactly 15
}

TEST(DefaultBridgeName, LongNamesFitIfnamsiz) {
  std::vector<std::string> names = {"abcdefghijklm", "production-east", "a-very-long-network-name",
                                    std::string(63, 'z'), "a" + std::string(61, '-') + "b",
                                    "abcde-fghijklmnop", "abcdef-ghijklmnop", "x-y-z-w-v-u-t-s"};
  for (const auto& n : names) {
    std::string b = default_bridge_name(n);
    EXPECT_LE(b.size(), kMaxIfName) << n << " -> " << b;
    EXPECT_TRUE(is_interface_name(b)) << n << " -> " << b;
    EXPECT_EQ(b.rfind("bg-", 0), 0u) << b;
    EXPECT_EQ(b.find("--"), std::string::npos) << n << " -> " << b;
  }
}

TEST(DefaultBridgeName, IsDeterministic) {
  for (std::string n : {std::string("fleet"), std::string("production-east"), std::string(63, 'q')}) {
    EXPECT_EQ(default_bridge_name(n), default_bridge_name(n));
  }
  // Stable across builds and runs: a bridge name is part of the host's state.
  EXPECT_EQ(default_bridge_name("production-east"), default_bridge_name(std::string("production-east")));
  EXPECT_EQ(default_bridge_name("production-east").substr(0, 10), "bg-produc-");
}

TEST(DefaultBridgeName, LongNamesWithTheSamePrefixStayDistinct) {
  EXPECT_NE(default_bridge_name("production-east"), default_bridge_name("production-west"));
  EXPECT_NE(default_bridge_name("abcdefghijklm"), default_bridge_name("abcdefghijkln"));
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    std::string name = "production-net-" + std::to_string(i);
    std::string b = default_bridge_name(name);
    EXPECT_TRUE(seen.insert(b).second) << "collision for " << name << " -> " << b;
  }
  // A long name never takes the plain bridge name of a short one.
  EXPECT_NE(default_bridge_name("abcdefghijklm"), "bg-abcdefghijkl");
}

// --------------------------------------------------------------------- hashes

TEST(Fnv1a64, KnownVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

// ---------------------------------------------------------------- suggestions

TEST(EditDistance, Basics) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("vcpu", "vcpus"), 1u);
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);  // a swap of neighbours is one typo
  EXPECT_EQ(edit_distance("wbe", "web"), 1u);
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);   // optimal string alignment, not full Damerau
  EXPECT_EQ(edit_distance("sunday", "saturday"), edit_distance("saturday", "sunday"));
}

TEST(Suggest, FindsCloseCandidates) {
  std::vector<std::string> states = {"running", "stopped"};
  EXPECT_EQ(suggest("runing", states), "running");
  EXPECT_EQ(suggest("stoped", states), "stopped");
  EXPECT_EQ(suggest("Running", states), "running");  // case-insensitive
  EXPECT_EQ(suggest("RUNNING", states), "running");
  std::vector<std::string> kinds = {"Network", "Kernel", "Image", "VM", "PortForward"};
  EXPECT_EQ(suggest("vm", kinds), "VM");
  EXPECT_EQ(suggest("Netwrok", kinds), "Network");
  EXPECT_EQ(suggest("Portforward", kinds), "PortForward");
  EXPECT_EQ(suggest("Kernal", kinds), "Kernel");
  std::vector<std::string> keys = {"vcpus", "memory", "restartPolicy", "diskStrategy"};
  EXPECT_EQ(suggest("vcpu", keys), "vcpus");
  EXPECT_EQ(suggest("restartpolicy", keys), "restartPolicy");
  EXPECT_EQ(suggest("memroy", keys), "memory");
  EXPECT_EQ(suggest("vcpsu", keys), "vcpus");
}

TEST(Suggest, PicksTheClosest) {
  EXPECT_EQ(suggest("fleeet", {"feet", "fleet"}), "fleet");
  EXPECT_EQ(suggest("fleeet", {"fleet", "feet"}), "fleet");
  EXPECT_EQ(suggest("debian12", {"debian-11", "debian-12"}), "debian-12");
}

TEST(Suggest, NothingWhenFarOrEmpty) {
  EXPECT_EQ(suggest("xyz", {"running", "stopped"}), "");
  EXPECT_EQ(suggest("ab", {"xy"}), "");
  EXPECT_EQ(suggest("paused", {"running", "stopped"}), "");
  EXPECT_EQ(suggest("web", {}), "");
  EXPECT_EQ(suggest(std::string(65, 'a'), {std::string(65, 'a')}), "");  // long inputs skipped
  EXPECT_EQ(suggest(std::string(100000, 'x'), {"vcpus"}), "");
}

}  // namespace
}  // namespace banger

namespace banger {
namespace {

TEST(Split, KeepsEmptyPartsAndTheWholeWhenThereIsNoSeparator) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ','), std::vector<std::string>{""});
  EXPECT_EQ(split("abc", ','), std::vector<std::string>{"abc"});
  EXPECT_EQ(split("a,", ','), (std::vector<std::string>{"a", ""}));
}

}  // namespace
}  // namespace banger
