// The pure half of the NAT driver: nft text out, nft JSON in. kListing is
// what the real kernel listed (libnftables 1.0.6, JSON output) right after
// applying render_batch(sample()) in a private netns, so these tests pin the
// exact shapes observe() meets without needing root.
#include "drivers/nat_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/host_error.h"

namespace banger {
namespace {

using nlohmann::json;

constexpr const char* kListing = R"json({"nftables": [
{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
{"table": {"family": "ip", "name": "banger", "handle": 2}},
{"chain": {"family": "ip", "table": "banger", "name": "prerouting", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
{"chain": {"family": "ip", "table": "banger", "name": "output", "handle": 2, "type": "nat", "hook": "output", "prio": -100, "policy": "accept"}},
{"chain": {"family": "ip", "table": "banger", "name": "postrouting", "handle": 3, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}},
{"rule": {"family": "ip", "table": "banger", "chain": "prerouting", "handle": 5, "comment": "banger:fwd:web", "expr": [
    {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
    {"dnat": {"addr": "172.20.0.2", "port": 80}}]}},
{"rule": {"family": "ip", "table": "banger", "chain": "prerouting", "handle": 8, "comment": "banger:fwd:dns", "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.0.2.10"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}},
    {"dnat": {"addr": "172.20.0.3", "port": 5353}}]}},
{"rule": {"family": "ip", "table": "banger", "chain": "output", "handle": 6, "comment": "banger:fwd:web", "expr": [
    {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
    {"dnat": {"addr": "172.20.0.2", "port": 80}}]}},
{"rule": {"family": "ip", "table": "banger", "chain": "output", "handle": 9, "comment": "banger:fwd:dns", "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.0.2.10"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}},
    {"dnat": {"addr": "172.20.0.3", "port": 5353}}]}},
{"rule": {"family": "ip", "table": "banger", "chain": "postrouting", "handle": 4, "comment": "banger:net:default", "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "172.20.0.0", "len": 24}}}},
    {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "172.20.0.0", "len": 24}}}},
    {"masquerade": null}]}},
{"rule": {"family": "ip", "table": "banger", "chain": "postrouting", "handle": 7, "comment": "banger:fwd:web", "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "172.20.0.0", "len": 24}}}},
    {"masquerade": null}]}}
]})json";

Cidr cidr(const char* s) { return *parse_cidr(s); }
Ipv4 ip(const char* s) { return *parse_ipv4(s); }

NatRuleset sample() {
  NatRuleset r;
  r.masquerades = {{"default", cidr("172.20.0.0/24")}};
  r.forwards = {
      {"web", Protocol::Tcp, ip("0.0.0.0"), 8080, ip("172.20.0.2"), 80, cidr("172.20.0.0/24")},
      {"dns", Protocol::Udp, ip("192.0.2.10"), 53, ip("172.20.0.3"), 5353, cidr("172.20.0.0/24")}};
  return r;
}

// Applies `edit` to the rules of kListing and canonicalises the result.
template <typename F>
NatObserved edited(F edit) {
  json doc = json::parse(kListing);
  edit(doc["nftables"]);
  return nat::parse_listing(doc.dump());
}

json& rule_with(json& items, const std::string& chain, const std::string& comment) {
  for (json& item : items) {
    if (item.contains("rule") && item["rule"]["chain"] == chain &&
        item["rule"].value("comment", "") == comment) {
      return item["rule"];
    }
  }
  throw std::runtime_error("no such rule in kListing");
}

TEST(NatRules, EmptyRulesetOnlyDeletesTheTable) {
  EXPECT_EQ(nat::render_batch({}), "table ip banger\ndelete table ip banger\n");
  NatObserved e = NatDriver::expected({});
  EXPECT_FALSE(e.table_exists);
  EXPECT_TRUE(e.rules_by_owner.empty());
}

TEST(NatRules, BatchReplacesTheWholeTableInOneScript) {
  EXPECT_EQ(nat::render_batch(sample()),
            "table ip banger\n"
            "delete table ip banger\n"
            "table ip banger {\n"
            "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
            "  chain output { type nat hook output priority -100; policy accept; }\n"
            "  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
            "}\n"
            "add rule ip banger postrouting ip saddr 172.20.0.0/24 ip daddr != 172.20.0.0/24 "
            "masquerade comment \"banger:net:default\"\n"
            "add rule ip banger prerouting fib daddr type local tcp dport 8080 dnat to "
            "172.20.0.2:80 comment \"banger:fwd:web\"\n"
            "add rule ip banger output fib daddr type local tcp dport 8080 dnat to "
            "172.20.0.2:80 comment \"banger:fwd:web\"\n"
            "add rule ip banger postrouting ip saddr 127.0.0.0/8 ip daddr 172.20.0.0/24 "
            "masquerade comment \"banger:fwd:web\"\n"
            "add rule ip banger prerouting ip daddr 192.0.2.10 udp dport 53 dnat to "
            "172.20.0.3:5353 comment \"banger:fwd:dns\"\n"
            "add rule ip banger output ip daddr 192.0.2.10 udp dport 53 dnat to "
            "172.20.0.3:5353 comment \"banger:fwd:dns\"\n");
}

TEST(NatRules, KernelListingCanonicalisesToExpected) {
  NatObserved got = nat::parse_listing(kListing);
  NatObserved want = NatDriver::expected(sample());
  EXPECT_TRUE(got.table_exists);
  EXPECT_EQ(got.rules_by_owner, want.rules_by_owner);
  EXPECT_EQ(want.rules_by_owner["banger:fwd:web"],
            (std::vector<std::string>{
                "output: fib daddr type local tcp dport 8080 dnat to 172.20.0.2:80",
                "postrouting: ip saddr 127.0.0.0/8 ip daddr 172.20.0.0/24 masquerade",
                "prerouting: fib daddr type local tcp dport 8080 dnat to 172.20.0.2:80"}));
  EXPECT_EQ(want.rules_by_owner["banger:net:default"],
            std::vector<std::string>{
                "postrouting: ip saddr 172.20.0.0/24 ip daddr != 172.20.0.0/24 masquerade"});
}

TEST(NatRules, HandlesAndOrderDoNotMatter) {
  NatObserved got = edited([](json& items) {
    for (json& item : items) {
      for (const char* k : {"table", "chain", "rule"}) {
        if (item.contains(k)) item[k]["handle"] = item[k]["handle"].get<int>() + 100;
      }
    }
    std::reverse(items.begin() + 5, items.end());  // the rules, after metainfo/table/chains
  });
  EXPECT_EQ(got.rules_by_owner, nat::parse_listing(kListing).rules_by_owner);
}

TEST(NatRules, RuleCountsFollowTheHostAddress) {
  auto count = [](const char* host) {
    NatRuleset r;
    r.forwards = {{"f", Protocol::Tcp, ip(host), 80, ip("10.0.0.2"), 80, cidr("10.0.0.0/24")}};
    return NatDriver::expected(r).rules_by_owner["banger:fwd:f"].size();
  };
  EXPECT_EQ(count("0.0.0.0"), 3u);    // prerouting, output, loopback masquerade
  EXPECT_EQ(count("127.0.0.1"), 3u);  // the same
  EXPECT_EQ(count("192.0.2.1"), 2u);  // no loopback source can reach it
}

TEST(NatRules, SubnetIsRenderedByItsNetworkAddress) {
  NatRuleset r;
  r.masquerades = {{"n", Cidr{ip("10.1.2.3"), 16}}};
  EXPECT_EQ(NatDriver::expected(r).rules_by_owner["banger:net:n"],
            std::vector<std::string>{"postrouting: ip saddr 10.1.0.0/16 ip daddr != 10.1.0.0/16 "
                                     "masquerade"});
}

TEST(NatRules, EditedRuleDiffersForItsOwnerOnly) {
  const NatObserved want = NatDriver::expected(sample());
  NatObserved got = edited([](json& items) {
    rule_with(items, "output", "banger:fwd:dns")["expr"][2]["dnat"]["port"] = 5354;
  });
  EXPECT_NE(got.rules_by_owner["banger:fwd:dns"], want.rules_by_owner.at("banger:fwd:dns"));
  got.rules_by_owner.erase("banger:fwd:dns");
  auto rest = want.rules_by_owner;
  rest.erase("banger:fwd:dns");
  EXPECT_EQ(got.rules_by_owner, rest);
}

TEST(NatRules, RuleMovedToAnotherChainDiffers) {
  NatObserved got = edited(
      [](json& items) { rule_with(items, "output", "banger:fwd:dns")["chain"] = "prerouting"; });
  EXPECT_NE(got.rules_by_owner["banger:fwd:dns"],
            NatDriver::expected(sample()).rules_by_owner["banger:fwd:dns"]);
}

TEST(NatRules, ForeignRulesAndObjectsGoUnderTheEmptyOwner) {
  NatObserved got = edited([](json& items) {
    json r = rule_with(items, "prerouting", "banger:fwd:web");
    r.erase("comment");
    json counter = json::object();
    counter["counter"] = {{"packets", 7}, {"bytes", 420}};  // moves with traffic
    r["expr"].insert(r["expr"].begin() + 2, counter);
    items.push_back({{"rule", r}});
    r["comment"] = "someone's";
    items.push_back({{"rule", r}});
    items.push_back({{"set", {{"family", "ip"}, {"name", "blocked"}, {"table", "banger"}}}});
    items.push_back({{"chain", {{"family", "ip"}, {"name", "mine"}, {"table", "banger"}}}});
  });
  EXPECT_EQ(got.rules_by_owner[""],
            (std::vector<std::string>{
                "chain mine",
                "prerouting: fib daddr type local tcp dport 8080 counter dnat to 172.20.0.2:80",
                "prerouting: fib daddr type local tcp dport 8080 counter dnat to 172.20.0.2:80 "
                "comment \"someone's\"",
                "set blocked"}));
}

TEST(NatRules, ChangedBaseChainOrDormantTableIsReported) {
  NatObserved got = edited([](json& items) {
    items[1]["table"]["flags"] = json::array({"dormant"});
    items[3]["chain"]["policy"] = "drop";  // output
    items[4]["chain"]["prio"] = 0;         // postrouting
  });
  EXPECT_EQ(
      got.rules_by_owner[""],
      (std::vector<std::string>{"chain output type nat hook output prio -100 policy drop",
                                "chain postrouting type nat hook postrouting prio 0 policy accept",
                                "table flags [\"dormant\"]"}));
}

TEST(NatRules, UnknownExpressionsStayExact) {
  NatObserved got = edited([](json& items) {
    rule_with(items, "output", "banger:fwd:dns")["expr"][0]["match"]["right"] =
        json{{"set", json::array({"192.0.2.10", "192.0.2.11"})}};
  });
  EXPECT_EQ(got.rules_by_owner["banger:fwd:dns"][0],
            "output: ip daddr {\"set\":[\"192.0.2.10\",\"192.0.2.11\"]} udp dport 53 dnat to "
            "172.20.0.3:5353");
}

TEST(NatRules, EmptyTableAndBadJson) {
  NatObserved empty = nat::parse_listing(
      R"({"nftables":[{"metainfo":{}},{"table":{"family":"ip","name":"banger","handle":3}}]})");
  EXPECT_TRUE(empty.table_exists);
  EXPECT_TRUE(empty.rules_by_owner.empty());
  EXPECT_THROW(nat::parse_listing("not json"), HostError);
  EXPECT_THROW(nat::parse_listing(R"({"tables":[]})"), HostError);
  EXPECT_THROW(nat::parse_listing(R"({"nftables":[{"chain":[1,2]}]})"), HostError);
}

// libnftables 1.0.6 prints the JSON of a one-flag table from freed memory,
// so observe() reads such a table as text outline + chain-by-chain JSON. That
// must give what parse_listing() gives for a correct whole-table listing.
TEST(NatRules, FlaggedTableFromOutlineAndChainsEqualsWholeListing) {
  // What `list table ip banger` printed (text, libnftables 1.0.6, measured).
  const char* text =
      "table ip banger { # progname driver_tests\n"
      "\tflags owner\n"
      "\tcomment \"hi\"\n"
      "\n"
      "\tct helper h1 {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto ip\n\t}\n"
      "\n"
      "\tset s1 {\n\t\ttype ipv4_addr\n\t\telements = { 1.2.3.4 }\n\t}\n"
      "\n"
      "\tchain prerouting {\n"
      "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\ttcp dport 1 dnat to 10.0.0.2\n"
      "\t}\n"
      "}\n";
  const nat::TableOutline outline = nat::parse_outline(text);
  EXPECT_TRUE(outline.has_flags);
  EXPECT_EQ(outline.flags, std::vector<std::string>{"owner"});
  EXPECT_EQ(outline.objects, (std::vector<std::string>{"ct helper h1", "set s1"}));
  EXPECT_FALSE(nat::parse_outline("table ip banger {\n\tchain a {\n\t}\n}\n").has_flags);
  EXPECT_EQ(nat::parse_outline("table ip banger {\n\tflags dormant,owner\n}\n").flags,
            (std::vector<std::string>{"dormant", "owner"}));

  const std::string chains_json =
      R"({"nftables": [{"metainfo": {"version": "1.0.6"}},)"
      R"( {"chain": {"family": "ip", "table": "banger", "name": "prerouting", "handle": 1}},)"
      R"( {"chain": {"family": "ip", "table": "other", "name": "x", "handle": 1}},)"
      R"( {"chain": {"family": "ip6", "table": "banger", "name": "y", "handle": 1}}]})";
  EXPECT_EQ(nat::chain_names(chains_json), std::vector<std::string>{"prerouting"});
  EXPECT_EQ(json::parse(nat::list_chain_command("a \"b\""))["nftables"][0]["list"]["chain"]["name"],
            "a \"b\"");

  const std::string chain = R"({"nftables": [{"metainfo": {"version": "1.0.6"}},
{"chain": {"family": "ip", "table": "banger", "name": "prerouting", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
{"rule": {"family": "ip", "table": "banger", "chain": "prerouting", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 1}}, {"dnat": {"addr": "10.0.0.2"}}]}}]})";
  const NatObserved got = nat::parse_pieces(outline, {chain});
  // The same table as a correct libnftables would list it whole.
  json whole = json::parse(chain);
  whole["nftables"].insert(whole["nftables"].begin() + 1,
                           json::parse(R"({"table": {"family": "ip", "name": "banger",
                                           "handle": 1, "flags": "owner"}})"));
  whole["nftables"].push_back(json::parse(R"({"set": {"family": "ip", "name": "s1"}})"));
  whole["nftables"].push_back(json::parse(R"({"ct helper": {"family": "ip", "name": "h1"}})"));
  const NatObserved want = nat::parse_listing(whole.dump());
  EXPECT_TRUE(got.table_exists);
  EXPECT_EQ(got.rules_by_owner, want.rules_by_owner);
  EXPECT_EQ(got.rules_by_owner.at("").size(), 4u);  // flag, rule, set, helper
  EXPECT_THROW(nat::parse_pieces(outline, {"not json"}), HostError);
}

TEST(NatRules, BadValuesAreRejectedBeforeNft) {
  struct Case {
    const char* what;
    void (*edit)(NatRuleset&);
    const char* culprit;
  };
  const Case cases[] = {
      {"host port 0", [](NatRuleset& r) { r.forwards[0].host_port = 0; }, "'web'"},
      {"guest port 0", [](NatRuleset& r) { r.forwards[1].guest_port = 0; }, "'dns'"},
      {"quote in name", [](NatRuleset& r) { r.forwards[0].forward = "a\" ; flush ruleset"; },
       "flush ruleset"},
      {"newline in name", [](NatRuleset& r) { r.masquerades[0].network = "a\nb"; }, "a\nb"},
      {"upper case", [](NatRuleset& r) { r.masquerades[0].network = "Default"; }, "Default"},
      {"empty name", [](NatRuleset& r) { r.forwards[0].forward = ""; }, "''"},
      {"64 chars", [](NatRuleset& r) { r.forwards[0].forward = std::string(64, 'a'); }, "aaaa"},
      {"same network twice", [](NatRuleset& r) { r.masquerades.push_back(r.masquerades[0]); },
       "'default' appears twice"},
      {"same forward twice", [](NatRuleset& r) { r.forwards[1].forward = "web"; },
       "'web' appears twice"},
      {"same endpoint",
       [](NatRuleset& r) {
         r.forwards.push_back(r.forwards[0]);
         r.forwards[2].forward = "w2";
       },
       "0.0.0.0:8080/tcp"},
      {"guest outside subnet", [](NatRuleset& r) { r.forwards[0].guest_ip = ip("10.0.0.2"); },
       "10.0.0.2"},
      {"guest is network", [](NatRuleset& r) { r.forwards[0].guest_ip = ip("172.20.0.0"); },
       "172.20.0.0"},
      {"guest is broadcast", [](NatRuleset& r) { r.forwards[0].guest_ip = ip("172.20.0.255"); },
       "172.20.0.255"},
      {"/0", [](NatRuleset& r) { r.masquerades[0].subnet = cidr("0.0.0.0/0"); }, "prefix"},
      {"/31", [](NatRuleset& r) { r.forwards[0].subnet = cidr("172.20.0.2/31"); }, "prefix"},
      {"/32", [](NatRuleset& r) { r.masquerades[0].subnet = cidr("172.20.0.2/32"); }, "prefix"},
  };
  EXPECT_NO_THROW(nat::validate(sample()));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    NatRuleset r = sample();
    c.edit(r);
    try {
      nat::render_batch(r);
      ADD_FAILURE() << "accepted";
    } catch (const HostError& e) {
      EXPECT_NE(std::string(e.what()).find(c.culprit), std::string::npos) << e.what();
    }
    EXPECT_THROW(NatDriver::expected(r), HostError);
  }
}

TEST(NatRules, OwnerComments) {
  EXPECT_EQ(NatDriver::network_owner("default"), "banger:net:default");
  EXPECT_EQ(NatDriver::forward_owner("web"), "banger:fwd:web");
}

}  // namespace
}  // namespace banger
