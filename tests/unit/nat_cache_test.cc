// The file banger keeps its last listing of table `ip banger` in: it must
// give back exactly what was stored, and nothing at all for another key or
// for a file that is cut short or damaged.
#include "drivers/nat_cache.h"

#include <gtest/gtest.h>

namespace banger::nat {
namespace {

NatObserved sample() {
  NatObserved o;
  o.table_exists = true;
  o.rules_by_owner["banger:net:default"] = {"postrouting: ip saddr 172.20.0.0/24 masquerade"};
  o.rules_by_owner["banger:fwd:web"] = {"output: tcp dport 8080 dnat to 172.20.0.10:80",
                                        "prerouting: tcp dport 8080 dnat to 172.20.0.10:80"};
  // Foreign lines; one with the characters the format uses itself.
  o.rules_by_owner[""] = {"table flags dormant", "weird: 12:34\nsecond line", ""};
  return o;
}

const CacheKey kKey{"boot-1 4:4026531840 exe 2049:77:1.5", 42};

TEST(NatCache, GivesBackExactlyWhatWasStored) {
  const NatObserved o = sample();
  auto back = decode_cache(encode_cache(kKey, o), kKey);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->table_exists, o.table_exists);
  EXPECT_EQ(back->rules_by_owner, o.rules_by_owner);

  NatObserved none;  // no table
  auto empty = decode_cache(encode_cache(kKey, none), kKey);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->table_exists);
  EXPECT_TRUE(empty->rules_by_owner.empty());
}

TEST(NatCache, AnotherGenerationOrScopeIsAMiss) {
  const std::string text = encode_cache(kKey, sample());
  EXPECT_FALSE(decode_cache(text, CacheKey{kKey.scope, 43}));
  EXPECT_FALSE(decode_cache(text, CacheKey{kKey.scope, 0}));
  EXPECT_FALSE(decode_cache(text, CacheKey{"boot-2 4:4026531840 exe 2049:77:1.5", 42}));
  EXPECT_FALSE(decode_cache(text, CacheKey{"", 42}));
}

TEST(NatCache, EveryShortenedOrDamagedFileIsAMiss) {
  const std::string text = encode_cache(kKey, sample());
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(decode_cache(text.substr(0, n), kKey)) << "cut at " << n;
  }
  EXPECT_FALSE(decode_cache(text + "x", kKey));
  // Each digit changed: a length or count that no longer fits must not give
  // a different listing that looks whole.
  size_t misses = 0, digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') continue;
    ++digits;
    std::string bad = text;
    bad[i] = text[i] == '9' ? '1' : static_cast<char>(text[i] + 1);
    auto got = decode_cache(bad, kKey);
    if (!got) {
      ++misses;
    } else {
      // Only a digit inside a rule's own text can change and still parse.
      EXPECT_NE(got->rules_by_owner, sample().rules_by_owner);
    }
  }
  EXPECT_GT(digits, 20u);
  EXPECT_GT(misses, digits / 2);
}

}  // namespace
}  // namespace banger::nat
