// How diff and plan judge network DNS servers: a server that is down, runs
// another config or serves stale names is a repair of its network; a server
// whose network is gone is a leftover; sync-dns runs after the VMs.
#include <gtest/gtest.h>

#include <algorithm>

#include "drivers/dnsmasq.h"
#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/dns_target.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/plan.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

constexpr const char* kRoot = "/run/banger/networks";

// Observed as sync-dns leaves it: every DNS network's server up, serving
// what the manifests and records make.
ObservedState served(const DesiredState& d) {
  ObservedState o = converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  o.dns_root = kRoot;
  o.dns_user = "nobody";
  o.dns.emplace();
  const std::vector<DnsHost> hosts = dns_hosts(applied_networks(o.applied), o.vms);
  for (const Network& n : d.set.networks) {
    if (!n.dns.enabled || !d.find({Kind::Network, n.name()})) continue;
    (*o.dns)[n.name()] = {true, dns_sum(dnsmasq_conf(dns_server_spec(n, kRoot, "nobody"))), dns_sum(dnsmasq_hosts(hosts)),
                          dns_sum(dnsmasq_dhcp_hosts(n.name(), hosts))};
  }
  return o;
}

std::vector<std::string> drift_of(const Diff& diff, const std::string& key) {
  for (const Change& c : diff.changes) {
    if (c.key.str() == key) return c.drift;
  }
  return {};
}

bool has_action(const Plan& p, ActionType t) {
  return std::any_of(p.actions.begin(), p.actions.end(), [&](const Action& a) { return a.type == t; });
}

TEST(DnsDiff, AServingHostHasNoChanges) {
  DesiredState d = desired_from(kFleet);
  Diff diff = compute_diff(d, served(d), {});
  EXPECT_TRUE(diff.empty()) << (diff.changes.empty() ? "?" : diff.changes[0].key.str());
  EXPECT_FALSE(diff.dns_sync);
}

TEST(DnsDiff, ADeadServerIsARepairOfItsNetwork) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = served(d);
  o.dns->at("lab").running = false;
  Diff diff = compute_diff(d, o, {});
  EXPECT_EQ(drift_of(diff, "Network/lab"), std::vector<std::string>{"dns server is not running"});
  Plan p = make_plan(diff, d);
  ASSERT_TRUE(has_action(p, ActionType::SyncDns));
  o.dns->erase("lab");  // never started: no folder at all
  EXPECT_EQ(drift_of(compute_diff(d, o, {}), "Network/lab"), std::vector<std::string>{"dns server is not running"});
}

TEST(DnsDiff, AnEditedConfigOrStaleNamesAreRepairs) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = served(d);
  o.dns->at("lab").conf_sum = dns_sum("edited by hand");
  EXPECT_EQ(drift_of(compute_diff(d, o, {}), "Network/lab"), std::vector<std::string>{"dns server config changed"});
  o = served(d);
  o.vms.at("web").ip = "10.9.0.99";  // the records moved on; the server did not
  o.dns->at("lab") = served(d).dns->at("lab");
  auto drift = drift_of(compute_diff(d, o, {}), "Network/lab");
  EXPECT_NE(std::find(drift.begin(), drift.end(), "dns names or DHCP reservations out of date"), drift.end());
}

TEST(DnsDiff, AnExportWithoutDnsServersIsNotJudged) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = served(d);
  o.dns.reset();
  EXPECT_TRUE(compute_diff(d, o, {}).empty());
}

TEST(DnsDiff, DnsOffWantsNoServer) {
  DesiredState d = desired_from(std::string(kFleet) + "");
  d.set.networks[0].dns.enabled = false;
  ObservedState o = served(d);
  EXPECT_TRUE(compute_diff(d, o, {}).empty());
  (*o.dns)["lab"] = {true, "x", "y", "z"};
  Diff diff = compute_diff(d, o, {});
  // Its network is still wanted: the repair says why; not a leftover too.
  EXPECT_EQ(drift_of(diff, "Network/lab"), std::vector<std::string>{"dns server is running but spec.dns.enabled is false"});
  EXPECT_TRUE(diff.dns_orphans.empty());
  EXPECT_TRUE(diff.dns_sync);
}

TEST(DnsDiff, AServerWithoutItsNetworkIsALeftover) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = served(d);
  (*o.dns)["gone"] = {true, "a", "b", "c"};
  Diff diff = compute_diff(d, o, {});
  EXPECT_EQ(diff.dns_orphans, std::vector<std::string>{"gone"});
  EXPECT_FALSE(diff.empty());
  Plan p = make_plan(diff, d);
  EXPECT_TRUE(has_action(p, ActionType::SyncDns));
}

TEST(DnsDiff, SyncDnsRunsAfterTheVmsAndBeforeTheBridgeGoes) {
  DesiredState d = desired_from(kFleet);
  Plan p = make_plan(compute_diff(d, ObservedState{}, {}), d);
  const Action* dns = nullptr;
  for (const Action& a : p.actions) {
    if (a.type == ActionType::SyncDns) dns = &a;
  }
  ASSERT_NE(dns, nullptr);
  for (const Action& a : p.actions) {
    if (a.type == ActionType::EnsureVm || a.type == ActionType::EnsureNetwork) {
      EXPECT_NE(std::find(dns->after.begin(), dns->after.end(), a.id), dns->after.end()) << to_string(a.type);
    }
  }
}

}  // namespace
}  // namespace banger
