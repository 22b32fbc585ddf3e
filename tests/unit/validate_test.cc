// Cross-resource checks: references, unique names, addresses, subnets,
// bridges and forwards; and how diagnostics are ordered and formatted.
#include "resources/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "resources/manifest_loader.h"
#include "resources/names.h"
#include "resources/netaddr.h"

namespace banger {
namespace {

constexpr const char* kHeader = "apiVersion: banger.dev/v1\n";

std::string kernel(const std::string& name) {
  return std::string(kHeader) + "kind: Kernel\nmetadata: {name: " + name + "}\nspec: {path: vmlinuz}\n";
}
std::string image(const std::string& name) {
  return std::string(kHeader) + "kind: Image\nmetadata: {name: " + name + "}\nspec: {path: root.ext4}\n";
}
std::string network(const std::string& name, const std::string& subnet, const std::string& extra = "") {
  return std::string(kHeader) + "kind: Network\nmetadata: {name: " + name + "}\nspec: {subnet: " +
         subnet + extra + "}\n";
}
// A VM on `net` ("" = the default network) with `ip` ("" = allocated).
std::string vm(const std::string& name, const std::string& net = "", const std::string& ip = "",
               const std::string& kernel = "k", const std::string& image = "img") {
  std::string s = std::string(kHeader) + "kind: VM\nmetadata: {name: " + name + "}\nspec:\n  kernel: " +
                  kernel + "\n  image: " + image + "\n";
  if (!net.empty()) s += "  network: " + net + "\n";
  if (!ip.empty()) s += "  ip: " + ip + "\n";
  return s;
}
std::string forward(const std::string& name, const std::string& vm_name, int host_port,
                    const std::string& extra = "") {
  return std::string(kHeader) + "kind: PortForward\nmetadata: {name: " + name + "}\nspec: {vm: " +
         vm_name + ", hostPort: " + std::to_string(host_port) + ", guestPort: 80" + extra + "}\n";
}

std::string docs(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "---\n") + p;
  return out;
}

const std::string kArtifacts = docs({kernel("k"), image("img")});

LoadResult load(const std::string& text) {
  return load_texts({SourceText{"artifacts.yaml", "/m", kArtifacts}, SourceText{"m.yaml", "/m", text}});
}

std::string dump(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diags.sorted()) out += d.format() + "\n";
  return out.empty() ? "(no diagnostics)\n" : out;
}

std::vector<Diagnostic> about(const LoadResult& r, const std::string& field) {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : r.diags.sorted()) {
    if (d.field == field) out.push_back(d);
  }
  return out;
}

Diagnostic only(const LoadResult& r, const std::string& field) {
  std::vector<Diagnostic> found = about(r, field);
  EXPECT_EQ(found.size(), 1u) << "diagnostics about " << field << ":\n" << dump(r);
  return found.empty() ? Diagnostic{} : found.front();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ------------------------------------------------------------------ references

TEST(References, AllPresent) {
  LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), vm("a", "fleet"), forward("f", "a", 80)}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST(References, MissingKernelImageNetwork) {
  LoadResult r = load(vm("a", "nowhere", "", "nokernel", "noimage"));
  EXPECT_EQ(r.diags.size(), 3u) << dump(r);
  Diagnostic k = only(r, "spec.kernel");
  EXPECT_TRUE(contains(k.message, "Kernel \"nokernel\" does not exist")) << k.format();
  EXPECT_EQ(k.kind, "VM");
  EXPECT_EQ(k.name, "a");
  EXPECT_EQ(k.mark.file, "m.yaml");
  EXPECT_EQ(k.mark.line, 5);
  EXPECT_EQ(k.mark.column, 11);
  EXPECT_TRUE(contains(only(r, "spec.image").message, "Image \"noimage\" does not exist"));
  EXPECT_TRUE(contains(only(r, "spec.network").message, "Network \"nowhere\" does not exist"));
}

TEST(References, DidYouMean) {
  LoadResult r = load(docs({kernel("debian-12"), network("fleet", "10.42.0.0/24"),
                            vm("web-1", "flet", "", "debian12"), forward("f", "web1", 80)}));
  EXPECT_TRUE(contains(only(r, "spec.kernel").message, "did you mean \"debian-12\"?")) << dump(r);
  EXPECT_TRUE(contains(only(r, "spec.network").message, "did you mean \"fleet\"?"));
  Diagnostic f = only(r, "spec.vm");
  EXPECT_EQ(f.kind, "PortForward");
  EXPECT_TRUE(contains(f.message, "VM \"web1\" does not exist")) << f.format();
  EXPECT_TRUE(contains(f.message, "did you mean \"web-1\"?")) << f.format();
}

TEST(References, NoneDeclared) {
  LoadResult r = load_texts({SourceText{"m.yaml", "/m", vm("a") + "---\n" + forward("f", "b", 80)}});
  EXPECT_TRUE(contains(only(r, "spec.kernel").message, "none is declared")) << dump(r);
  EXPECT_TRUE(contains(only(r, "spec.image").message, "none is declared"));
  EXPECT_FALSE(contains(only(r, "spec.vm").message, "none is declared"));  // VM "a" exists
}

TEST(References, AcrossFiles) {
  LoadResult r = load_texts({SourceText{"vms/a.yaml", "/m/vms", vm("a", "fleet")},
                             SourceText{"net.yaml", "/m", network("fleet", "10.1.0.0/24")},
                             SourceText{"art.yaml", "/m", kArtifacts}});
  EXPECT_TRUE(r.ok()) << dump(r);
}

// ---------------------------------------------------------------- unique names

TEST(UniqueNames, DuplicatesAcrossFilesNameBothPlaces) {
  LoadResult r = load_texts({SourceText{"a.yaml", "/m", kArtifacts + "---\n" + vm("web")},
                             SourceText{"b.yaml", "/m", "# second\n" + vm("web")}});
  Diagnostic d = only(r, "metadata.name");
  EXPECT_EQ(d.mark.file, "b.yaml");
  EXPECT_EQ(d.mark.line, 4);
  EXPECT_EQ(d.kind, "VM");
  EXPECT_EQ(d.name, "web");
  EXPECT_TRUE(contains(d.message, "duplicate VM \"web\"")) << d.format();
  EXPECT_TRUE(contains(d.message, "a.yaml:13:")) << d.format();
  EXPECT_EQ(r.diags.size(), 1u) << dump(r);
}

TEST(UniqueNames, DuplicatesWithinAFile) {
  LoadResult r = load(docs({network("n", "10.0.0.0/24"), network("n", "10.1.0.0/24")}));
  Diagnostic d = only(r, "metadata.name");
  EXPECT_TRUE(contains(d.message, "duplicate Network \"n\"")) << d.format();
  EXPECT_TRUE(contains(d.message, "m.yaml:3:")) << d.format();
}

TEST(UniqueNames, EveryKindIsChecked) {
  LoadResult r = load(docs({kernel("k"), image("img"), vm("v"), vm("v"), forward("f", "v", 1),
                            forward("f", "v", 2), network("n", "10.0.0.0/24"),
                            network("n", "10.1.0.0/24")}));
  std::vector<Diagnostic> dups = about(r, "metadata.name");
  ASSERT_EQ(dups.size(), 5u) << dump(r);
  std::vector<std::string> kinds;
  for (const auto& d : dups) kinds.push_back(d.kind);
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"Image", "Kernel", "Network", "PortForward", "VM"}));
}

TEST(UniqueNames, SameNameInDifferentKindsIsFine) {
  LoadResult r = load(docs({kernel("web"), image("web"), network("web", "10.9.0.0/24"),
                            vm("web", "web", "", "web", "web"), forward("web", "web", 80)}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

// ------------------------------------------------------------------ addresses

TEST(Addresses, InsideTheSubnet) {
  LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), vm("a", "fleet", "10.42.0.2"),
                            vm("b", "fleet", "10.42.0.254"), vm("c", "", "172.20.0.77")}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST(Addresses, OutsideTheSubnet) {
  LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), vm("a", "fleet", "10.43.0.5")}));
  Diagnostic d = only(r, "spec.ip");
  EXPECT_TRUE(contains(d.message, "10.43.0.5 is outside subnet 10.42.0.0/24")) << d.format();
  EXPECT_TRUE(contains(d.message, "10.42.0.2 to 10.42.0.254")) << d.format();
  EXPECT_EQ(d.name, "a");
  EXPECT_EQ(d.mark.file, "m.yaml");
  EXPECT_GT(d.mark.line, 0);
}

TEST(Addresses, OutsideTheImplicitDefault) {
  LoadResult r = load(vm("a", "", "10.0.0.5"));
  Diagnostic d = only(r, "spec.ip");
  EXPECT_TRUE(contains(d.message, "outside subnet 172.20.0.0/24")) << d.format();
  EXPECT_TRUE(contains(d.message, "built in")) << d.format();
}

TEST(Addresses, ReservedAddresses) {
  struct Case {
    const char* ip;
    const char* what;
  };
  for (Case c : {Case{"10.42.0.0", "network"}, Case{"10.42.0.1", "gateway"},
                 Case{"10.42.0.255", "broadcast"}}) {
    LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), vm("a", "fleet", c.ip)}));
    Diagnostic d = only(r, "spec.ip");
    EXPECT_TRUE(contains(d.message, std::string("is the ") + c.what + " address")) << d.format();
  }
  LoadResult gw = load(vm("a", "", "172.20.0.1"));
  EXPECT_TRUE(contains(only(gw, "spec.ip").message, "gateway")) << dump(gw);
}

TEST(Addresses, DuplicatesOnOneNetwork) {
  LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), vm("a", "fleet", "10.42.0.9"),
                            vm("b", "fleet", "10.42.0.9"), vm("c", "fleet", "10.42.0.9")}));
  std::vector<Diagnostic> ds = about(r, "spec.ip");
  ASSERT_EQ(ds.size(), 2u) << dump(r);
  EXPECT_EQ(ds[0].name, "b");
  EXPECT_EQ(ds[1].name, "c");
  EXPECT_TRUE(contains(ds[0].message, "already used by VM/a at m.yaml:")) << ds[0].format();
}

TEST(Addresses, SameAddressOnTwoNetworksIsFine) {
  LoadResult r = load(docs({network("blue", "10.42.0.0/24"), network("green", "10.43.0.0/24"),
                            vm("a", "blue", "10.42.0.9"), vm("b", "green", "10.43.0.9"),
                            vm("c", "", "172.20.0.9")}));
  EXPECT_TRUE(r.ok()) << dump(r);
  // Truly the same address on two networks: the subnets overlap, so that is
  // reported as an overlap, not as a duplicate address.
  LoadResult same = load(docs({network("blue", "10.42.0.0/24"), network("green", "10.42.0.0/24"),
                               vm("a", "blue", "10.42.0.9"), vm("b", "green", "10.42.0.9")}));
  EXPECT_TRUE(about(same, "spec.ip").empty()) << dump(same);
  EXPECT_EQ(about(same, "spec.subnet").size(), 1u) << dump(same);
}

TEST(Addresses, AllocatedAddressesAreNotChecked) {
  LoadResult r = load(docs({vm("a"), vm("b"), vm("c")}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

// -------------------------------------------------------------------- subnets

TEST(Subnets, OverlapsAreReported) {
  LoadResult r = load(docs({network("a", "10.0.0.0/16"), network("b", "10.0.5.0/24"),
                            network("c", "10.1.0.0/24")}));
  Diagnostic d = only(r, "spec.subnet");
  EXPECT_EQ(d.name, "b");
  EXPECT_TRUE(contains(d.message, "10.0.5.0/24 overlaps 10.0.0.0/16 of Network/a at m.yaml:1:1"))
      << d.format();
  EXPECT_EQ(r.diags.size(), 1u) << dump(r);
}

TEST(Subnets, ImplicitDefaultOnlyWhenUsed) {
  // Nobody uses the built-in default network: it does not take 172.20.0.0/24.
  LoadResult unused = load(docs({network("lan", "172.20.0.0/16"), vm("a", "lan")}));
  EXPECT_TRUE(unused.ok()) << dump(unused);
}

TEST(Subnets, ImplicitDefaultWhenUsedIsReportedAtTheDeclaredNetwork) {
  LoadResult r = load(docs({network("lan", "172.20.0.0/16"), vm("a")}));
  std::vector<Diagnostic> ds = about(r, "spec.subnet");
  ASSERT_EQ(ds.size(), 1u) << dump(r);
  const Diagnostic& d = ds[0];
  EXPECT_TRUE(contains(d.message, "172.20.0.0/24")) << d.format();
  EXPECT_TRUE(contains(d.message, "172.20.0.0/16")) << d.format();
  // The user can only fix what is in a file: the diagnostic must point there.
  EXPECT_EQ(d.mark.file, "m.yaml") << d.format();
  EXPECT_GT(d.mark.line, 0) << d.format();
}

TEST(Subnets, InvalidSubnetsAreNotComparedAgain) {
  LoadResult r = load(docs({network("a", "10.0.0.0/8"), network("b", "10.0.0.0/24")}));
  // a's /8 is refused by decode; b is not said to overlap it as well.
  EXPECT_EQ(r.diags.size(), 1u) << dump(r);
  EXPECT_EQ(only(r, "spec.subnet").name, "a");
}

// -------------------------------------------------------------------- bridges

TEST(Bridges, TwoNetworksOneBridge) {
  LoadResult r = load(docs({network("a", "10.0.0.0/24", ", bridge: br0"),
                            network("b", "10.1.0.0/24", ", bridge: br0")}));
  Diagnostic d = only(r, "spec.bridge");
  EXPECT_EQ(d.name, "b");
  EXPECT_TRUE(contains(d.message, "\"br0\" is also the bridge of Network/a")) << d.format();
}

TEST(Bridges, ExplicitBridgeTakingAnotherNetworksDefault) {
  LoadResult r = load(docs({network("fleet", "10.0.0.0/24"),
                            network("b", "10.1.0.0/24", ", bridge: bg-fleet")}));
  EXPECT_TRUE(contains(only(r, "spec.bridge").message, "bg-fleet")) << dump(r);
}

TEST(Bridges, UnusedImplicitDefaultTakesNoBridge) {
  LoadResult r = load(docs({network("lan", "10.1.0.0/24", ", bridge: bg-default"), vm("a", "lan")}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST(Bridges, ConflictWithTheUsedImplicitDefaultPointsAtAFile) {
  LoadResult r = load(docs({network("lan", "10.1.0.0/24", ", bridge: bg-default"), vm("a")}));
  Diagnostic d = only(r, "spec.bridge");
  EXPECT_TRUE(contains(d.message, "bg-default")) << d.format();
  EXPECT_EQ(d.mark.file, "m.yaml") << d.format();
  EXPECT_GT(d.mark.line, 0) << d.format();
}

// ------------------------------------------------------------------- forwards

TEST(Forwards, AnyAddressClashesWithASpecificOne) {
  LoadResult r = load(docs({vm("a"), forward("f1", "a", 8080),
                            forward("f2", "a", 8080, ", hostAddress: 127.0.0.1")}));
  Diagnostic d = only(r, "spec.hostPort");
  EXPECT_EQ(d.name, "f2");
  EXPECT_TRUE(contains(d.message, "0.0.0.0:8080/tcp is already forwarded by PortForward/f1"))
      << d.format();
  // And the other way around.
  LoadResult r2 = load(docs({vm("a"), forward("f1", "a", 8080, ", hostAddress: 127.0.0.1"),
                             forward("f2", "a", 8080)}));
  EXPECT_EQ(only(r2, "spec.hostPort").name, "f2") << dump(r2);
}

TEST(Forwards, SameAddressSamePort) {
  LoadResult r = load(docs({vm("a"), forward("f1", "a", 22, ", hostAddress: 10.0.0.1"),
                            forward("f2", "a", 22, ", hostAddress: 10.0.0.1")}));
  EXPECT_EQ(only(r, "spec.hostPort").name, "f2") << dump(r);
  LoadResult any = load(docs({vm("a"), forward("f1", "a", 22), forward("f2", "a", 22)}));
  EXPECT_EQ(only(any, "spec.hostPort").name, "f2") << dump(any);
}

TEST(Forwards, NoConflict) {
  LoadResult r = load(docs({vm("a"), forward("tcp", "a", 53), forward("udp", "a", 53, ", protocol: udp"),
                            forward("lo1", "a", 80, ", hostAddress: 127.0.0.1"),
                            forward("lo2", "a", 80, ", hostAddress: 127.0.0.2"),
                            forward("other", "a", 81)}));
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST(Forwards, UdpAnyClashesWithUdpSpecific) {
  LoadResult r = load(docs({vm("a"), forward("u1", "a", 53, ", protocol: udp"),
                            forward("u2", "a", 53, ", protocol: udp, hostAddress: 127.0.0.53"),
                            forward("t1", "a", 53, ", hostAddress: 127.0.0.53")}));
  Diagnostic d = only(r, "spec.hostPort");
  EXPECT_EQ(d.name, "u2");
  EXPECT_TRUE(contains(d.message, "/udp")) << d.format();
}

TEST(Forwards, EachClashReportedOnce) {
  LoadResult r = load(docs({vm("a"), forward("f1", "a", 80), forward("f2", "a", 80),
                            forward("f3", "a", 80)}));
  EXPECT_EQ(about(r, "spec.hostPort").size(), 2u) << dump(r);
}

// ------------------------------------------------------------------ ordering

TEST(Diagnostics, SortedByFileLineColumnStable) {
  Diagnostics ds;
  ds.add(Diagnostic{Mark{"b.yaml", 1, 1}, "", "", "", "b1"});
  ds.add(Diagnostic{Mark{"a.yaml", 10, 2}, "", "", "", "a10-2"});
  ds.add(Diagnostic{Mark{"a.yaml", 2, 5}, "", "", "", "a2-5"});
  ds.add(Diagnostic{Mark{"a.yaml", 10, 1}, "", "", "", "a10-1"});
  ds.add(Diagnostic{Mark{"a.yaml", 2, 5}, "", "", "", "a2-5 second"});
  ds.add(Diagnostic{Mark{"a.yaml", 0, 0}, "", "", "", "a-file"});
  std::vector<std::string> order;
  for (const auto& d : ds.sorted()) order.push_back(d.message);
  EXPECT_EQ(order, (std::vector<std::string>{"a-file", "a2-5", "a2-5 second", "a10-1", "a10-2", "b1"}));
  // sorted() is a copy: the order found is kept.
  EXPECT_EQ(ds.items()[0].message, "b1");
  EXPECT_EQ(ds.size(), 6u);
}

TEST(Diagnostics, LineTwoBeforeLineTen) {
  // Numeric, not textual, order.
  Diagnostics ds;
  ds.add(Diagnostic{Mark{"f", 10, 1}, "", "", "", "ten"});
  ds.add(Diagnostic{Mark{"f", 9, 1}, "", "", "", "nine"});
  EXPECT_EQ(ds.sorted()[0].message, "nine");
}

TEST(Diagnostics, Append) {
  Diagnostics a, b;
  a.add(Diagnostic{Mark{"x", 1, 1}, "", "", "", "1"});
  b.add(Diagnostic{Mark{"y", 1, 1}, "", "", "", "2"});
  b.add(Diagnostic{Mark{"z", 1, 1}, "", "", "", "3"});
  a.append(b);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(Diagnostics().empty());
}

TEST(Diagnostics, EndToEndOrder) {
  LoadResult r = load_texts({SourceText{"z.yaml", "/m", vm("z", "", "", "nk", "ni")},
                             SourceText{"a.yaml", "/m", "\n\n" + vm("a", "", "", "nk2", "ni2")}});
  std::vector<Diagnostic> s = r.diags.sorted();
  ASSERT_EQ(s.size(), 4u) << dump(r);
  EXPECT_EQ(s[0].mark.file, "a.yaml");
  EXPECT_EQ(s[0].field, "spec.kernel");
  EXPECT_EQ(s[1].field, "spec.image");
  EXPECT_EQ(s[2].mark.file, "z.yaml");
}

TEST(Diagnostics, Format) {
  EXPECT_EQ((Diagnostic{Mark{"f.yaml", 3, 7}, "VM", "web", "spec.vcpus", "bad"}).format(),
            "f.yaml:3:7: VM/web: spec.vcpus: bad");
  EXPECT_EQ((Diagnostic{Mark{"f.yaml", 0, 0}, "", "", "", "no documents"}).format(),
            "f.yaml: no documents");
  EXPECT_EQ((Diagnostic{Mark{"f.yaml", 1, 1}, "VM", "", "kind", "x"}).format(), "f.yaml:1:1: VM: kind: x");
  EXPECT_EQ((Diagnostic{Mark{"f.yaml", 1, 1}, "", "", "apiVersion", "x"}).format(),
            "f.yaml:1:1: apiVersion: x");
}

// --------------------------------------------------------- all errors at once

TEST(AllAtOnce, DecodeAndCrossChecksTogether) {
  LoadResult r = load(docs({network("fleet", "10.42.0.0/24"), network("fleet2", "10.42.0.0/25"),
                            vm("a", "fleet", "10.42.1.1", "kk"), vm("b", "fleet", "10.42.0.0"),
                            forward("f", "c", 0)}));
  // kk does not exist; fleet2 overlaps fleet; a's ip outside; b's ip is the
  // network address; f names a missing VM and has hostPort 0.
  EXPECT_EQ(r.diags.size(), 6u) << dump(r);
}

TEST(AllAtOnce, AnUnparsableFileDoesNotHideTheOthers) {
  LoadResult r = load_texts({SourceText{"bad.yaml", "/m", "key: [unclosed\n"},
                             SourceText{"good.yaml", "/m", vm("a", "", "", "x", "y")}});
  EXPECT_EQ(r.diags.size(), 3u) << dump(r);
  EXPECT_EQ(r.diags.sorted()[0].mark.file, "bad.yaml");
}

// ------------------------------------------------------- complete_defaults

TEST(CompleteDefaults, FillsBridgesAndAddsTheDefaultNetwork) {
  ManifestSet set;
  Network n;
  n.kind = Kind::Network;
  n.metadata.name = "production-east";
  n.subnet = {*parse_cidr("10.0.0.0/24"), Mark{"f", 1, 1}, true};
  set.networks.push_back(n);
  Network kept = n;
  kept.metadata.name = "custom";
  kept.bridge = {"br-mine", Mark{"f", 2, 2}, true};
  set.networks.push_back(kept);
  complete_defaults(set);
  ASSERT_EQ(set.networks.size(), 3u);
  EXPECT_EQ(set.networks[0].bridge.value, default_bridge_name("production-east"));
  EXPECT_EQ(set.networks[1].bridge.value, "br-mine");
  EXPECT_EQ(set.networks[2].name(), "default");
  EXPECT_TRUE(set.networks[2].implicit);
  // Idempotent: a second call adds nothing.
  complete_defaults(set);
  EXPECT_EQ(set.networks.size(), 3u);
}

TEST(Validate, EmptySetIsValid) {
  ManifestSet set;
  complete_defaults(set);
  Diagnostics ds;
  validate_references(set, ds);
  EXPECT_TRUE(ds.empty());
}

}  // namespace
}  // namespace banger
