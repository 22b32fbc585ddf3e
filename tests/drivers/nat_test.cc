// NatDriver against the real nf_tables of the private network namespace that
// netns_main.cc made: the host's own tables are never visible here.
#include "drivers/nat.h"

#include <gtest/gtest.h>
#include <nftables/libnftables.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/host_error.h"
#include "common/read_file.h"
#include "drivers/nft_generation.h"
#include "netns.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

// What a person would type with the nft CLI. The nft binary is not installed
// here, so the test speaks to libnftables itself (the same parser the CLI uses).
class HandNft {
 public:
  HandNft() : c_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    nft_ctx_buffer_output(c_);
    nft_ctx_buffer_error(c_);
  }
  ~HandNft() { nft_ctx_free(c_); }
  HandNft(const HandNft&) = delete;
  HandNft& operator=(const HandNft&) = delete;
  std::string run(const std::string& cmd, bool json = false) {
    nft_ctx_output_set_flags(c_, json ? NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE : 0);
    if (nft_run_cmd_from_buffer(c_, cmd.c_str()) != 0) {
      throw std::runtime_error("nft " + cmd + ": " + nft_ctx_get_error_buffer(c_));
    }
    return nft_ctx_get_output_buffer(c_);
  }
  bool ok(const std::string& cmd) {
    nft_ctx_output_set_flags(c_, 0);
    return nft_run_cmd_from_buffer(c_, cmd.c_str()) == 0;
  }
  /// Handle of the first rule in `chain` of table ip banger with `comment`.
  long handle_of(const std::string& chain, const std::string& comment) {
    auto doc = nlohmann::json::parse(run("list table ip banger", true));
    for (const auto& item : doc["nftables"]) {
      if (!item.contains("rule")) continue;
      const auto& r = item["rule"];
      if (r["chain"] == chain && r.value("comment", "") == comment) return r["handle"].get<long>();
    }
    throw std::runtime_error("no rule " + chain + "/" + comment);
  }

 private:
  nft_ctx* c_;
};

// Removes table ip banger at the end of a test, also when it fails, so that
// tests run in sequence in one process each start from nothing.
struct BangerTableCleanup {
  ~BangerTableCleanup() { HandNft().ok("table ip banger\ndelete table ip banger"); }
};
struct OtherTableCleanup {
  ~OtherTableCleanup() { HandNft().ok("table ip other\ndelete table ip other"); }
};

Cidr cidr(const char* s) { return *parse_cidr(s); }
Ipv4 ip(const char* s) { return *parse_ipv4(s); }

DnatRule fwd(const char* name, Protocol p, const char* host, uint16_t hport, const char* guest,
             uint16_t gport, const char* subnet) {
  return {name, p, ip(host), hport, ip(guest), gport, cidr(subnet)};
}

// 2 networks, 4 forwards: tcp and udp; 0.0.0.0, 127.0.0.1 and a specific address.
NatRuleset sample() {
  NatRuleset r;
  r.masquerades = {{"default", cidr("172.20.0.0/24")}, {"lab", cidr("10.88.0.0/16")}};
  r.forwards = {
      fwd("web", Protocol::Tcp, "0.0.0.0", 8080, "172.20.0.2", 80, "172.20.0.0/24"),
      fwd("dns", Protocol::Udp, "0.0.0.0", 5353, "172.20.0.3", 53, "172.20.0.0/24"),
      fwd("ssh", Protocol::Tcp, "127.0.0.1", 2222, "10.88.1.5", 22, "10.88.0.0/16"),
      fwd("metrics", Protocol::Udp, "192.0.2.10", 9100, "10.88.1.5", 9100, "10.88.0.0/16"),
  };
  return r;
}

void expect_same(const NatObserved& got, const NatObserved& want) {
  EXPECT_EQ(got.table_exists, want.table_exists);
  EXPECT_EQ(got.rules_by_owner, want.rules_by_owner);
}

TEST(NftGeneration, EveryCommitByAnyoneMovesIt) {
  REQUIRE_PRIVATE_NETNS();
  OtherTableCleanup cleanup;
  auto g1 = nft_generation();
  ASSERT_TRUE(g1);
  EXPECT_EQ(nft_generation(), g1);  // reading it changes nothing
  HandNft hand;
  hand.run("add table ip other");
  auto g2 = nft_generation();
  ASSERT_TRUE(g2);
  EXPECT_NE(*g2, *g1);
  EXPECT_FALSE(hand.ok("add rule ip other nochain accept"));  // a refused change
  hand.run("add chain ip other c");
  EXPECT_NE(nft_generation(), g2);
  EXPECT_FALSE(nft_generation_scope().empty());
}

// With a cache file: a second driver (a later run) answers from it while the
// generation stands, and lists again as soon as anyone commits anything.
TEST(NatDriver, CachedListingIsTrustedOnlyWhileTheGenerationStands) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  OtherTableCleanup cleanup_other;
  state_test::TempDir dir;
  const std::string cache = dir.path() + "/nat.cache";
  NatDriver first(cache);
  first.apply(sample());
  // Nobody committed in between: apply leaves what it wrote as the cache,
  // and a listing says the same.
  ASSERT_TRUE(std::filesystem::exists(cache));
  expect_same(first.observe(), NatDriver::expected(sample()));
  expect_same(NatDriver().observe(), NatDriver::expected(sample()));

  // Doctor the cached text (same length, so it stays well formed): a driver
  // that reads the file says what the file says; that is how the test knows
  // the listing was not made again.
  std::string text = *read_small_file(cache);
  const size_t at = text.find("172.20.0.2:80");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 13, "172.20.0.9:80");
  { std::ofstream(cache, std::ios::trunc) << text; }
  NatDriver later(cache);
  NatObserved from_file = later.observe();
  EXPECT_NE(from_file.rules_by_owner, NatDriver::expected(sample()).rules_by_owner);

  // Anyone's commit, even to another table, and the listing is made again.
  HandNft().run("add table ip other");
  NatDriver after(cache);
  expect_same(after.observe(), NatDriver::expected(sample()));
  // The same driver sees a change by hand on its next observe.
  const long h = HandNft().handle_of("prerouting", NatDriver::forward_owner("web"));
  HandNft().run("delete rule ip banger prerouting handle " + std::to_string(h));
  EXPECT_NE(after.observe().rules_by_owner, NatDriver::expected(sample()).rules_by_owner);

  // No table, no file: a host banger has left keeps nothing of it.
  after.apply(NatRuleset{});
  EXPECT_FALSE(after.observe().table_exists);
  EXPECT_FALSE(std::filesystem::exists(cache));
}

TEST(NatDriver, ObserveWithoutTableIsEmpty) {
  REQUIRE_PRIVATE_NETNS();
  NatDriver nat;
  NatObserved o = nat.observe();
  EXPECT_FALSE(o.table_exists);
  EXPECT_TRUE(o.rules_by_owner.empty());
}

TEST(NatDriver, ApplyThenObserveEqualsExpected) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  NatObserved o = nat.observe();
  expect_same(o, NatDriver::expected(sample()));
  // 2 masquerades + web, dns (3 each) + ssh (3) + metrics (2).
  size_t n = 0;
  for (const auto& [owner, rules] : o.rules_by_owner) n += rules.size();
  EXPECT_EQ(n, 13u);
  EXPECT_EQ(o.rules_by_owner.count(""), 0u);
}

TEST(NatDriver, ApplyTwiceGivesTheSameTable) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  NatObserved first = nat.observe();
  nat.apply(sample());
  expect_same(nat.observe(), first);
  expect_same(first, NatDriver::expected(sample()));
}

TEST(NatDriver, ManyRulesetsRoundTripExactly) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  std::vector<NatRuleset> sets;
  sets.push_back({{{"only-net", cidr("192.168.100.0/24")}}, {}});
  sets.push_back(
      {{}, {fwd("only-fwd", Protocol::Udp, "127.0.0.1", 1, "10.0.0.2", 65535, "10.0.0.0/8")}});
  for (const char* net : {"10.1.0.0/16", "10.2.3.0/29", "10.2.4.0/30", "10.2.5.8/29", "10.3.0.0/8",
                          "100.64.0.0/10"}) {
    Cidr c = cidr(net);
    Ipv4 guest{c.network().value + 1};
    sets.push_back({{{"n", c}},
                    {{"a", Protocol::Tcp, ip("0.0.0.0"), 80, guest, 8080, c},
                     {"b", Protocol::Udp, ip("203.0.113.7"), 80, guest, 80, c}}});
  }
  // A pseudo-random mix, fixed seed so that a failure reproduces.
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 8); };
  for (int round = 0; round < 5; ++round) {
    NatRuleset r;
    r.masquerades = {{"net-a", cidr("172.30.0.0/24")}, {"net-b", cidr("172.31.0.0/16")}};
    for (int i = 0; i < 25; ++i) {
      bool a = next() % 2;
      Cidr c = a ? cidr("172.30.0.0/24") : cidr("172.31.0.0/16");
      const char* hosts[] = {"0.0.0.0", "127.0.0.1", "198.51.100.9"};
      r.forwards.push_back({"f" + std::to_string(round) + "-" + std::to_string(i),
                            next() % 2 ? Protocol::Tcp : Protocol::Udp, ip(hosts[next() % 3]),
                            static_cast<uint16_t>(1000 + i), Ipv4{c.network().value + 2 + i},
                            static_cast<uint16_t>(1 + next() % 65535), c});
    }
    sets.push_back(r);
  }
  NatDriver nat;
  for (size_t i = 0; i < sets.size(); ++i) {
    SCOPED_TRACE("ruleset " + std::to_string(i));
    nat.apply(sets[i]);
    expect_same(nat.observe(), NatDriver::expected(sets[i]));
  }
}

TEST(NatDriver, SmallerRulesetRemovesTheRest) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  NatRuleset smaller = sample();
  smaller.masquerades.pop_back();                    // lab
  smaller.forwards.erase(smaller.forwards.begin());  // web
  nat.apply(smaller);
  NatObserved o = nat.observe();
  expect_same(o, NatDriver::expected(smaller));
  EXPECT_EQ(o.rules_by_owner.count(NatDriver::network_owner("lab")), 0u);
  EXPECT_EQ(o.rules_by_owner.count(NatDriver::forward_owner("web")), 0u);
}

TEST(NatDriver, EmptyRulesetDeletesTheTable) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  nat.apply({});
  NatObserved o = nat.observe();
  EXPECT_FALSE(o.table_exists);
  EXPECT_TRUE(o.rules_by_owner.empty());
  EXPECT_FALSE(HandNft().ok("list table ip banger"));
  nat.apply({});  // absent is success
  expect_same(nat.observe(), NatDriver::expected({}));
}

TEST(NatDriver, RuleDeletedByHandShowsForExactlyItsOwner) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  HandNft hand;
  const std::string web = NatDriver::forward_owner("web");
  hand.run("delete rule ip banger prerouting handle " +
           std::to_string(hand.handle_of("prerouting", web)));
  NatObserved got = nat.observe();
  NatObserved want = NatDriver::expected(sample());
  std::set<std::string> differing;
  for (const auto& src : {got.rules_by_owner, want.rules_by_owner}) {
    for (const auto& [owner, rules] : src) {
      if (got.rules_by_owner[owner] != want.rules_by_owner[owner]) differing.insert(owner);
    }
  }
  EXPECT_EQ(differing, std::set<std::string>{web});
  EXPECT_EQ(got.rules_by_owner[web].size() + 1, want.rules_by_owner[web].size());
  nat.apply(sample());  // the repair the reconciler would do
  expect_same(nat.observe(), NatDriver::expected(sample()));
}

TEST(NatDriver, RulesAddedByHandShowUnderTheEmptyOwner) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatDriver nat;
  nat.apply(sample());
  HandNft hand;
  hand.run("add rule ip banger prerouting tcp dport 9999 dnat to 172.20.0.9:99");
  hand.run("add rule ip banger output udp dport 7 counter dnat to 172.20.0.9 comment \"mine\"");
  NatObserved o = nat.observe();
  NatObserved want = NatDriver::expected(sample());
  ASSERT_EQ(o.rules_by_owner.count(""), 1u);
  EXPECT_EQ(
      o.rules_by_owner[""],
      (std::vector<std::string>{"output: udp dport 7 counter dnat to 172.20.0.9 comment \"mine\"",
                                "prerouting: tcp dport 9999 dnat to 172.20.0.9:99"}));
  o.rules_by_owner.erase("");
  expect_same(o, want);  // nobody else's rules changed
  nat.apply(sample());
  expect_same(nat.observe(), want);
}

TEST(NatDriver, ForeignTableIsNeverTouched) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  OtherTableCleanup other_cleanup;
  HandNft hand;
  hand.run(
      "add table ip other\n"
      "add chain ip other pre { type nat hook prerouting priority dstnat; }\n"
      "add rule ip other pre tcp dport 4444 dnat to 192.0.2.1:44 comment \"banger:fwd:web\"\n");
  const std::string before = hand.run("list table ip other", true);
  NatDriver nat;
  nat.apply(sample());
  EXPECT_EQ(hand.run("list table ip other", true), before);
  // A rule elsewhere that merely carries a banger comment is not banger's.
  expect_same(nat.observe(), NatDriver::expected(sample()));
  nat.apply({});
  EXPECT_EQ(hand.run("list table ip other", true), before);
  EXPECT_FALSE(nat.observe().table_exists);
}

TEST(NatDriver, InvalidRulesetThrowsAndLeavesTheTableAsItWas) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  OtherTableCleanup other_cleanup;
  HandNft hand;
  hand.run("add table ip other");
  NatDriver nat;
  nat.apply(sample());
  const NatObserved before = nat.observe();
  std::vector<NatRuleset> bad(5, sample());
  bad[0].forwards[1].host_port = 0;
  bad[1].forwards[2].guest_port = 0;
  bad[2].forwards[0].forward = "web\" ; delete table ip other ; #";
  bad[3].masquerades[0].network = "x\nflush ruleset";
  bad[4].forwards.push_back(bad[4].forwards[0]);  // same name twice
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("bad ruleset " + std::to_string(i));
    EXPECT_THROW(nat.apply(bad[i]), HostError);
    expect_same(nat.observe(), before);
  }
  EXPECT_TRUE(hand.ok("list table ip other"));
}

TEST(NatDriver, KernelRefusalChangesNothing) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatObserved before;
  {
    // A table with "flags owner" can only be changed through its creator's
    // socket: the kernel refuses banger's batch after its "delete table" part.
    HandNft owner;
    owner.run(
        "table ip banger { flags owner; chain prerouting { type nat hook prerouting "
        "priority dstnat; }\n}\nadd rule ip banger prerouting tcp dport 1 dnat to 10.0.0.2\n");
    NatDriver nat;
    before = nat.observe();
    ASSERT_EQ(before.rules_by_owner[""].size(), 2u);  // the flag and the rule
    try {
      nat.apply(sample());
      ADD_FAILURE() << "apply succeeded on a table owned by another socket";
    } catch (const HostError& e) {
      EXPECT_NE(std::string(e.what()).find("Operation not permitted"), std::string::npos)
          << e.what();
    }
    expect_same(nat.observe(), before);
  }  // the owner's socket closes: the kernel removes its table
  NatDriver nat;
  EXPECT_FALSE(nat.observe().table_exists);
  nat.apply(sample());
  expect_same(nat.observe(), NatDriver::expected(sample()));
}

TEST(NatDriver, ConcurrentCallsAreSerialized) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures] {
      // Each thread starts in the calling thread's namespace (inherited).
      NatDriver nat;
      for (int i = 0; i < 20; ++i) {
        try {
          nat.apply(sample());
          if (nat.observe().rules_by_owner != NatDriver::expected(sample()).rules_by_owner) {
            ++failures;
          }
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(NatDriver, TimingsFor1000Forwards) {
  REQUIRE_PRIVATE_NETNS();
  BangerTableCleanup cleanup;
  NatRuleset r;
  const Cidr nets[] = {cidr("10.100.0.0/16"), cidr("10.101.0.0/16")};
  r.masquerades = {{"big-a", nets[0]}, {"big-b", nets[1]}};
  const char* hosts[] = {"0.0.0.0", "127.0.0.1", "192.0.2.44"};
  for (int i = 0; i < 1000; ++i) {
    const Cidr& c = nets[i % 2];
    r.forwards.push_back({"fwd-" + std::to_string(i), i % 3 ? Protocol::Tcp : Protocol::Udp,
                          ip(hosts[i % 3]), static_cast<uint16_t>(20000 + i),
                          Ipv4{c.network().value + 2 + static_cast<uint32_t>(i)}, 80, c});
  }
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  NatDriver nat;
  auto t0 = clock::now();
  nat.apply(r);
  auto t1 = clock::now();
  nat.apply(r);
  auto t2 = clock::now();
  NatObserved o = nat.observe();
  auto t3 = clock::now();
  NatObserved want = NatDriver::expected(r);
  auto t4 = clock::now();
  size_t n = 0;
  for (const auto& [owner, rules] : o.rules_by_owner) n += rules.size();
  std::printf(
      "[ timing ] 1000 forwards (%zu rules): apply (new table) %.1f ms, apply "
      "(replace) %.1f ms, observe %.1f ms, expected %.1f ms\n",
      n, ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3));
  expect_same(o, want);
}

}  // namespace
}  // namespace banger
