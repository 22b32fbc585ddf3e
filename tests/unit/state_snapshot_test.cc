// The state export file: everything diff reads survives the round trip, the
// bytes are deterministic, a diff against the file equals the diff against
// the host it came from, and a bad file is a clear error naming it.
#include "reconciler/state_snapshot.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/plan.h"
#include "unit/field_count.h"

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

const SnapshotInfo kInfo{"host-1", "2026-11-25T14:50:00Z", "0.1.0", "/var/lib/banger"};

ObservedState host_of(const DesiredState& d) {
  ObservedState o = converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  return o;
}

using test::field_count;

// A new field in what observe() returns must reach the file, or an offline
// diff silently differs from the live one: update state_snapshot.cc (and this
// count, and docs/plan-json.md's state export section) when one is added.
TEST(StateSnapshot, EveryObservedFieldIsCovered) {
  EXPECT_EQ((field_count<ObservedState>()), 21u) << "ObservedState changed: export the new field";
  EXPECT_EQ((field_count<ResolvedLink>()), 3u) << "ResolvedLink changed: export the new field";
  EXPECT_EQ((field_count<ObservedDns>()), 4u) << "ObservedDns changed: export the new field";
  EXPECT_EQ((field_count<ResourceRecord>()), 7u) << "ResourceRecord changed: export the new field";
  EXPECT_EQ((field_count<VmRecord>()), 6u) << "VmRecord changed: export the new field";
  EXPECT_EQ((field_count<VmRuntime>()), 9u) << "VmRuntime changed: export the new field";
  EXPECT_EQ((field_count<LinkState>()), 7u) << "LinkState changed: export the new field";
  EXPECT_EQ((field_count<NatObserved>()), 2u) << "NatObserved changed: export the new field";
  EXPECT_EQ((field_count<ExitStatus>()), 3u) << "ExitStatus changed: export the new field";
  EXPECT_EQ((field_count<RestartRecord>()), 5u) << "RestartRecord changed: export the new field";
  EXPECT_EQ((field_count<DiskRecord>()), 5u) << "DiskRecord changed: export the new field";
  EXPECT_EQ((field_count<DiskHost>()), 8u) << "DiskHost changed: export the new field";
  EXPECT_EQ((field_count<ObservedDm>()), 3u) << "ObservedDm changed: export the new field";
  EXPECT_EQ((field_count<ObservedLoop>()), 5u) << "ObservedLoop changed: export the new field";
  EXPECT_EQ((field_count<HypervisorHost>()), 9u) << "HypervisorHost changed: export the new field";
  EXPECT_EQ((field_count<KvmFacts>()), 8u) << "KvmFacts changed: export the new field";
}

// A host with every exported field set, values that are not defaults.
ObservedState every_field_set() {
  DesiredState d = desired_from(kFleet);
  ObservedState o = host_of(d);
  for (auto& [key, rec] : o.applied) rec.applied_at = 1795622000;  // not the time the test ran
  o.nat.rules_by_owner[""] = {"tcp dport 9999 accept"};  // a hand-added rule
  o.runtimes["web"].start_time = 18446744073709551000ull;  // start times are unsigned 64-bit
  o.ip_forward = false;
  o.now_ms = 1795622092123;
  o.exits["web"] = ExitStatus{true, 9, 1795622000000};
  o.restarts["web"] = RestartRecord{"web", 3, 2, "killed by signal 9", 1795622000000};
  o.disks["web"] = DiskRecord{"web", "snapshot", 1 << 30, "/i/root.ext4", "/s/vms/web/cow.img"};
  o.disk_host = DiskHost{"0badcafe", "/s/vms", true, false, "no dm", {{"banger-web", "BANGER-0badcafe-web", {"7:0", "7:1"}}},
                         {{"/dev/loop0", "7:0", "/i/root.ext4", "banger:0badcafe:base", true}}, {"web", "old"}};
  o.runtimes["web"].accel = "tcg";
  o.resolved = std::map<std::string, std::optional<ResolvedLink>>{
      {"lab", ResolvedLink{{*parse_ipv4("10.9.0.1")}, {"vm"}, {"corp.example"}}}, {"old", std::nullopt}};
  o.owned = {OwnedObject{"bridge", "bg-lab", "Network/lab"}, OwnedObject{"bridge", "bg-old", "Network/old"}};
  o.journal = {JournalEntry{42, "ensure", "bridge", "bg-old", "Network/old", 1795622000}};
  o.hypervisors = HypervisorHost{true,
                                 KvmFacts{true, true, "", 12, true, "", "kvm_pvm", false},
                                 Accel::Tcg,
                                 "BANGER_ACCEL",
                                 "",
                                 "firecracker binary not found",
                                 "",
                                 "/usr/bin/qemu-system-x86_64",
                                 ""};
  o.links.by_name["bg-tap-web"].isolated = true;
  o.dns_root = "/run/banger/networks";
  o.dns_user = "nobody";
  o.dns = std::map<std::string, ObservedDns>{{"lab", {true, "0123456789abcdef", "1111111111111111", "2222222222222222"}},
                                             {"old", {false, "3333333333333333", "", "4444444444444444"}}};

  return o;
}

// An export by a reader without root, who cannot list nftables, says so;
// one by root has no such key (and reads as listed).
TEST(StateSnapshot, UnlistedNatRulesRoundTrip) {
  ObservedState o = every_field_set();
  EXPECT_TRUE(snapshot_from_json(snapshot_to_json(o, kInfo), "s.json").observed.nat_known);
  EXPECT_EQ(snapshot_to_json(o, kInfo).find("\"observed\""), std::string::npos);
  o.nat_known = false;
  EXPECT_FALSE(snapshot_from_json(snapshot_to_json(o, kInfo), "s.json").observed.nat_known);
}

TEST(StateSnapshot, RoundTripKeepsEveryField) {
  ObservedState o = every_field_set();
  StateSnapshot s = snapshot_from_json(snapshot_to_json(o, kInfo), "state.json");
  EXPECT_EQ(s.info.host, "host-1");
  EXPECT_EQ(s.info.exported_at, "2026-11-25T14:50:00Z");
  EXPECT_EQ(s.info.banger_version, "0.1.0");
  EXPECT_EQ(s.info.state_dir, "/var/lib/banger");

  const ObservedState& r = s.observed;
  ASSERT_EQ(r.applied.size(), o.applied.size());
  for (const auto& [key, rec] : o.applied) {
    const ResourceRecord& got = r.applied.at(key);
    EXPECT_EQ(got.kind, rec.kind);
    EXPECT_EQ(got.name, rec.name);
    EXPECT_EQ(got.spec_hash, rec.spec_hash);
    EXPECT_EQ(got.generation, rec.generation);
    EXPECT_EQ(got.source_file, rec.source_file);
    EXPECT_EQ(got.applied_at, rec.applied_at);
    EXPECT_EQ(got.spec_json, rec.spec_json) << key.str();
  }
  ASSERT_EQ(r.vms.size(), 1u);
  const VmRecord& vm = r.vms.at("web");
  EXPECT_EQ(vm.network, "lab");
  EXPECT_EQ(vm.ip, "10.9.0.10");
  EXPECT_EQ(vm.mac, "06:00:0A:09:00:0A");
  EXPECT_EQ(vm.tap, "bg-tap-web");
  EXPECT_EQ(vm.disk_path, "/d/web");
  const VmRuntime& rt = r.runtimes.at("web");
  EXPECT_EQ(rt.pid, 1234);
  EXPECT_EQ(rt.start_time, 18446744073709551000ull);
  EXPECT_EQ(rt.exe, "/usr/bin/firecracker");
  EXPECT_EQ(rt.api_socket, "/s");
  EXPECT_EQ(rt.log_path, "/l");
  EXPECT_EQ(rt.hypervisor, "firecracker");
  EXPECT_EQ(rt.accel, "tcg");
  EXPECT_TRUE(r.links.find("bg-tap-web")->isolated);
  EXPECT_FALSE(r.links.find("bg-lab")->isolated);
  ASSERT_TRUE(r.dns);
  EXPECT_EQ(*r.dns, *o.dns);
  EXPECT_EQ(r.dns_root, "/run/banger/networks");
  EXPECT_EQ(r.dns_user, "nobody");
  ASSERT_EQ(r.owned.size(), 2u);
  EXPECT_EQ(r.owned[1].id, "bg-old");
  EXPECT_EQ(r.owned[1].owner, "Network/old");
  ASSERT_EQ(r.journal.size(), 1u);
  EXPECT_EQ(r.journal[0].id, 42);
  EXPECT_EQ(r.journal[0].action, "ensure");
  EXPECT_EQ(r.journal[0].object_id, "bg-old");
  EXPECT_EQ(r.journal[0].created_at, 1795622000);
  const HypervisorHost& hv = r.hypervisors;
  EXPECT_TRUE(hv.known);
  EXPECT_TRUE(hv.kvm.present && hv.kvm.opened && hv.kvm.vm_created);
  EXPECT_EQ(hv.kvm.api_version, 12);
  EXPECT_EQ(hv.kvm.modules, "kvm_pvm");
  EXPECT_FALSE(hv.kvm.cpu_virt);
  EXPECT_EQ(hv.accel, Accel::Tcg);
  EXPECT_EQ(hv.accel_from, "BANGER_ACCEL");
  EXPECT_EQ(hv.firecracker_why, "firecracker binary not found");
  EXPECT_EQ(hv.qemu, "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(choose_runtime(Runtime::Auto, hv).label(), "qemu/tcg");
  EXPECT_EQ(r.running, o.running);
  EXPECT_EQ(r.disks_present, o.disks_present);
  ASSERT_EQ(r.links.by_name.size(), 2u);
  for (const auto& [name, l] : o.links.by_name) {
    const LinkState* got = r.links.find(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ(got->ifindex, l.ifindex);
    EXPECT_EQ(got->type, l.type);
    EXPECT_EQ(got->master, l.master);
    EXPECT_EQ(got->up, l.up);
    EXPECT_EQ(got->ipv4, l.ipv4);
  }
  EXPECT_EQ(r.nat.table_exists, o.nat.table_exists);
  EXPECT_EQ(r.nat.rules_by_owner, o.nat.rules_by_owner);
  EXPECT_FALSE(r.ip_forward);
  EXPECT_EQ(r.now_ms, 1795622092123);
  ASSERT_EQ(r.exits.count("web"), 1u);
  EXPECT_TRUE(r.exits.at("web").signaled);
  EXPECT_EQ(r.exits.at("web").code, 9);
  EXPECT_EQ(r.exits.at("web").at_ms, 1795622000000);
  const RestartRecord& rr = r.restarts.at("web");
  EXPECT_EQ(rr.restarts, 3);
  EXPECT_EQ(rr.consecutive, 2);
  EXPECT_EQ(rr.last_exit, "killed by signal 9");
  EXPECT_EQ(rr.last_exit_at, 1795622000000);
  const DiskRecord& dr = r.disks.at("web");
  EXPECT_EQ(dr.method, "snapshot");
  EXPECT_EQ(dr.size, 1 << 30);
  EXPECT_EQ(dr.image, "/i/root.ext4");
  EXPECT_EQ(dr.cow, "/s/vms/web/cow.img");
  const DiskHost& h = r.disk_host;
  EXPECT_EQ(h.tag, "0badcafe");
  EXPECT_EQ(h.vms_dir, "/s/vms");
  EXPECT_TRUE(h.reflink);
  EXPECT_FALSE(h.devmapper);
  EXPECT_EQ(h.devmapper_why, "no dm");
  ASSERT_EQ(h.dm.size(), 1u);
  EXPECT_EQ(h.dm[0].uuid, "BANGER-0badcafe-web");
  EXPECT_EQ(h.dm[0].deps, (std::vector<std::string>{"7:0", "7:1"}));
  ASSERT_EQ(h.loops.size(), 1u);
  EXPECT_EQ(h.loops[0].device, "/dev/loop0");
  EXPECT_EQ(h.loops[0].majmin, "7:0");
  EXPECT_EQ(h.loops[0].backing_file, "/i/root.ext4");
  EXPECT_EQ(h.loops[0].label, "banger:0badcafe:base");
  EXPECT_TRUE(h.loops[0].held);
  EXPECT_EQ(h.vm_dirs, (std::vector<std::string>{"web", "old"}));
}

TEST(StateSnapshot, BytesAreDeterministicAndSelfDescribing) {
  DesiredState d = desired_from(kFleet);
  std::string a = snapshot_to_json(host_of(d), kInfo);
  EXPECT_EQ(a, snapshot_to_json(host_of(d), kInfo));
  // Reading and writing again gives the same bytes.
  EXPECT_EQ(snapshot_to_json(snapshot_from_json(a, "f").observed, kInfo), a);
  auto j = nlohmann::json::parse(a);
  EXPECT_EQ(j["apiVersion"], "banger.dev/v1");
  EXPECT_EQ(j["kind"], "StateExport");
  EXPECT_EQ(j["schemaVersion"], 1);
  // The applied spec is readable JSON, not an escaped string.
  EXPECT_EQ(j["records"]["resources"][0]["spec"]["subnet"], "10.9.0.0/24");
  EXPECT_EQ(a.back(), '\n');
}

// The file format is a contract (CI keeps exports, docs/plan-json.md shows
// them): the bytes of an export with every field set are kept in
// tests/unit/testdata/state_export.json. Regenerate it with
// BANGER_UPDATE_GOLDEN=1 only for an intended format change.
TEST(StateSnapshot, ExportBytesMatchTheGoldenFile) {
  const std::string path = std::string(BANGER_SOURCE_DIR) + "/tests/unit/testdata/state_export.json";
  const std::string actual = snapshot_to_json(every_field_set(), kInfo);
  if (std::getenv("BANGER_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(actual, golden.str()) << "the state export format changed; if intended, run with "
                                     "BANGER_UPDATE_GOLDEN=1 and update docs/plan-json.md";
}

TEST(StateSnapshot, OnlyLinksDiffCanLookAtAreExported) {
  DesiredState d = desired_from(kFleet);
  ObservedState o = host_of(d);
  o.links.by_name["eth0"] = LinkState{"eth0", 2, "", 0, true, {"192.168.1.5/24"}};
  o.links.by_name["docker0"] = LinkState{"docker0", 3, "bridge", 0, true, {"172.17.0.1/16"}};
  // A recorded tap that someone moved onto a foreign bridge: that bridge is
  // what diff compares with, so it goes in too.
  o.vms["db"] = VmRecord{"db", "lab", "10.9.0.20", "m", "bg-tap-db", "/d/db"};
  o.links.by_name["br-x"] = LinkState{"br-x", 40, "bridge", 0, true, {}};
  o.links.by_name["bg-tap-db"] = LinkState{"bg-tap-db", 41, "tun", 40, true, {}};
  LinkSnapshot l = links_for_export(o);
  std::vector<std::string> names;
  for (const auto& [name, link] : l.by_name) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"bg-lab", "bg-tap-db", "bg-tap-web", "br-x"}));
}

// What the CLI compares: the plan the live host gives equals the plan the
// export gives, for no change, a spec change, drift of every kind, and prune.
std::string describe(const Plan& p) {
  std::string out;
  for (const Change& c : p.diff.changes) {
    out += std::string(to_string(c.type)) + " " + c.key.str() + (c.restart ? " restart" : "") + " @" +
           c.source_file + "\n";
    for (const auto& f : c.fields) out += "  " + f.field + ": " + f.before + " -> " + f.after + "\n";
    for (const auto& dr : c.drift) out += "  " + dr + "\n";
  }
  out += p.diff.nat_drift ? "nat drift\n" : "";
  for (const Action& a : p.actions) out += std::string(to_string(a.type)) + " " + a.key.str() + "\n";
  return out;
}

TEST(StateSnapshot, DiffAgainstTheFileEqualsDiffAgainstTheHost) {
  DesiredState before = desired_from(kFleet);
  ObservedState host = host_of(before);
  // Drift: the process died, the bridge lost its address, a rule was added by hand.
  host.running.clear();
  host.links.by_name["bg-lab"].ipv4.clear();
  host.nat.rules_by_owner[""] = {"tcp dport 9999 accept"};
  ObservedState file = snapshot_from_json(snapshot_to_json(host, kInfo), "state.json").observed;

  std::string changed = kFleet;
  changed.replace(changed.find("memory: 256Mi"), 13, "memory: 512Mi");
  changed += "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: new}\n"
             "spec: {kernel: k, image: i, network: lab}\n";
  for (const std::string& yaml : {std::string(kFleet), changed}) {
    DesiredState d = desired_from(yaml);
    for (bool prune : {false, true}) {
      Plan live = make_plan(compute_diff(d, host, DiffOptions{prune}), d);
      Plan offline = make_plan(compute_diff(d, file, DiffOptions{prune}), d);
      EXPECT_FALSE(live.empty());
      EXPECT_EQ(describe(offline), describe(live)) << "prune=" << prune;
    }
  }
  // Prune with the manifests all gone: every delete comes out the same.
  DesiredState empty;
  EXPECT_EQ(describe(make_plan(compute_diff(empty, file, DiffOptions{true}), empty)),
            describe(make_plan(compute_diff(empty, host, DiffOptions{true}), empty)));
}

std::string error_of(const std::string& text) {
  try {
    snapshot_from_json(text, "host-state.json");
  } catch (const SnapshotError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string valid_export() {
  return snapshot_to_json(host_of(desired_from(kFleet)), kInfo);
}

// Replaces the first `from` in a valid export.
std::string edited(const std::string& from, const std::string& to) {
  std::string s = valid_export();
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

TEST(StateSnapshot, MalformedFilesAreClearErrorsNamingTheFile) {
  EXPECT_EQ(error_of(""), "host-state.json: not a banger state export: the file is empty");
  EXPECT_EQ(error_of(" \n"), "host-state.json: not a banger state export: the file is empty");
  EXPECT_EQ(error_of("garbage\n").rfind("host-state.json: not a banger state export: invalid JSON: parse error at line 1", 0), 0u)
      << error_of("garbage\n");
  EXPECT_EQ(error_of("[1, 2]"), "host-state.json: not a banger state export: expected a JSON object, got an array");
  EXPECT_EQ(error_of(R"({"changes": [], "summary": {}})"),
            "host-state.json: not a banger state export: expected kind: StateExport "
            "(write one with: sudo banger state export --file FILE)");
  // Cut short (a partial upload): invalid JSON at its end.
  std::string v = valid_export();
  EXPECT_NE(error_of(v.substr(0, v.size() / 2)).find("invalid JSON: parse error at line"), std::string::npos);
  // A number beyond a double is nlohmann's out_of_range, not a parse_error
  // (found by make fuzz): still an error naming the file, not a crash.
  EXPECT_EQ(error_of(R"({"kind": "StateExport", "n": 179e5622000})"),
            "host-state.json: not a banger state export: invalid JSON: number overflow parsing "
            "'179e5622000'");
  EXPECT_EQ(error_of(edited("\"06:00:0A:09:00:0A\"", "10")),
            "host-state.json: records.vms[0].mac: expected a string, got an integer");
  EXPECT_EQ(error_of(edited("\"ipForward\": true", "\"ipForward\": \"yes\"")),
            "host-state.json: host.ipForward: expected true or false, got a string");
  EXPECT_EQ(error_of(edited("\"running\": [", "\"runnin\": [")), "host-state.json: host.running: is missing");
  EXPECT_EQ(error_of(edited("\"kind\": \"VM\"", "\"kind\": \"Vm\"")),
            "host-state.json: records.resources[3].kind: \"Vm\" is not a banger kind");
  EXPECT_EQ(error_of(edited("\"apiVersion\": \"banger.dev/v1\"", "\"apiVersion\": \"banger.dev/v2\"")),
            "host-state.json: apiVersion: \"banger.dev/v2\" is not supported (expected banger.dev/v1)");
}

// Stored records are read by their column definitions (state/records/):
// each field by its type, named by its path.
TEST(StateSnapshot, RecordFieldsAreCheckedByTheirColumnTypes) {
  EXPECT_EQ(error_of(edited("\"specHash\": ", "\"specHash\": 1, \"was\": ")),
            "host-state.json: records.resources[0].specHash: expected a string, got an integer");
  EXPECT_EQ(error_of(edited("\"spec\": {", "\"spec\": [], \"was\": {")),
            "host-state.json: records.resources[0].spec: expected an object, got an array");
  EXPECT_EQ(error_of(edited("\"startTime\": ", "\"startTime\": -")),
            "host-state.json: records.runtimes[0].startTime: expected an integer >= 0, got an integer");
  EXPECT_EQ(error_of(edited("\"exe\": ", "\"binary\": ")), "host-state.json: records.runtimes[0].exe: is missing");
  // accel came later within schemaVersion 1: an export without it reads as "".
  StateSnapshot s = snapshot_from_json(edited("\"accel\": \"\",", ""), "f");
  ASSERT_EQ(s.observed.runtimes.size(), 1u);
  EXPECT_EQ(s.observed.runtimes.begin()->second.accel, "");
}

// Values inside the records are read back as the field tables write them,
// on read, naming the file and field: not later, as if banger had computed
// them wrong.
TEST(StateSnapshot, InvalidValuesInRecordsAreErrorsNamingTheField) {
  EXPECT_EQ(error_of(edited("\"hostPort\": \"8080\"", "\"hostPort\": \"0\"")),
            "host-state.json: records.resources[4].spec: PortForward/web-http: hostPort \"0\" is not a value "
            "banger writes");
  EXPECT_EQ(error_of(edited("\"subnet\": \"10.9.0.0/24\"", "\"subnet\": \"10.9.0.1/24\"")),
            "host-state.json: records.resources[0].spec: Network/lab: subnet \"10.9.0.1/24\" is not a value banger "
            "writes");
  EXPECT_NE(error_of(edited("\"memory\": \"256Mi\"", "\"memory\": \"lots\"")).find("VM/web: memory \"lots\""),
            std::string::npos);
  // The mutation probe's finding: a name that is a path reached the NAT
  // target and was blamed on banger ("This is a bug in what banger computed").
  EXPECT_EQ(error_of(edited("\"name\": \"lab\"", "\"name\": \"../..\"")),
            "host-state.json: records.resources[0].name: \"../..\" is not a name banger writes (a DNS-1123 label)");
}

TEST(StateSnapshot, UnknownSchemaVersionsAreRefused) {
  for (std::string version : std::vector<std::string>{"2", "0", "\"1\"", "1.5"}) {
    std::string e = error_of(edited("\"schemaVersion\": 1", "\"schemaVersion\": " + version));
    EXPECT_EQ(e, "host-state.json: schemaVersion: " + version +
                     " is not supported by this banger (it reads schemaVersion 1); export the state again "
                     "with this banger's version, or use the banger that wrote it");
  }
  EXPECT_EQ(error_of(edited("\"schemaVersion\": 1,", "")), "host-state.json: schemaVersion: is missing");
}

TEST(StateSnapshot, AnEmptyHostRoundTrips) {
  StateSnapshot s = snapshot_from_json(snapshot_to_json(ObservedState{}, kInfo), "f");
  EXPECT_TRUE(s.observed.applied.empty());
  EXPECT_TRUE(s.observed.links.by_name.empty());
  EXPECT_FALSE(s.observed.nat.table_exists);
  DesiredState d = desired_from(kFleet);
  EXPECT_EQ(compute_diff(d, s.observed, {}).changes.size(), 5u);
}

}  // namespace
}  // namespace banger

namespace banger {
namespace {

// The node of a fleet the host is: written as host.node, read back; an
// export from before fleets has none (fleet diff then falls back to flags).
TEST(StateSnapshot, TheNodeRoundTripsAndOlderExportsHaveNone) {
  SnapshotInfo info = kInfo;
  info.node = NodeIdentity{"runner-a", {{"role", "ci"}, {"zone", "a"}}};
  const std::string text = snapshot_to_json(ObservedState{}, info);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["host"]["node"], (nlohmann::json{{"name", "runner-a"}, {"labels", {{"role", "ci"}, {"zone", "a"}}}}));
  StateSnapshot s = snapshot_from_json(text, "a.json");
  ASSERT_TRUE(s.info.node.has_value());
  EXPECT_EQ(s.info.node->name, "runner-a");
  EXPECT_EQ(s.info.node->labels, info.node->labels);

  const std::string older = snapshot_to_json(ObservedState{}, kInfo);
  EXPECT_FALSE(nlohmann::json::parse(older)["host"].contains("node"));
  EXPECT_FALSE(snapshot_from_json(older, "old.json").info.node.has_value());

  j["host"]["node"]["labels"]["bad key"] = "x";
  try {
    snapshot_from_json(j.dump(), "bad.json");
    ADD_FAILURE() << "a bad label read back";
  } catch (const SnapshotError& e) {
    EXPECT_EQ(std::string(e.what()), "bad.json: host.node.labels.bad key: \"bad key=x\" is not a label");
  }
  j["host"]["node"] = {{"name", ""}, {"labels", nlohmann::json::object()}};
  EXPECT_THROW(snapshot_from_json(j.dump(), "empty.json"), SnapshotError);
}

}  // namespace
}  // namespace banger
