// The field tables (resources/fields_*.cc): what derives from them (decode,
// keys, shown values, effects, explain) and the way back from the state
// DB's text to typed values (reconciler/applied_spec.cc).
#include <gtest/gtest.h>

#include <set>

#include "common/host_error.h"
#include "reconciler/applied_spec.h"
#include "reconciler/desired_state.h"
#include "resources/field_table.h"
#include "resources/manifest_loader.h"

namespace banger {
namespace {

constexpr const char* kEverything = R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: net}
spec: {subnet: 10.2.0.0/24, bridge: br-full, nat: false}
---
apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec:
  url: https://example.com/vmlinux
  sha256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
  initrd: {path: initrd.img, sha256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}
  args: console=ttyS0 pci=off
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: img}
spec: {path: rootfs.ext4}
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: vm}
spec:
  kernel: k
  image: img
  vcpus: 4
  memory: 2Gi
  diskSize: 8Gi
  network: net
  ip: 10.2.0.10
  kernelArgs: quiet
  state: stopped
  restartPolicy: on-failure
  runtime: qemu
  readiness: {http: {port: 8080, path: /healthz}, timeout: 1m30s}
  diskStrategy: copy
---
apiVersion: banger.dev/v1
kind: PortForward
metadata: {name: pf}
spec: {vm: vm, hostPort: 18080, guestPort: 8080, protocol: udp, hostAddress: 127.0.0.1}
)";

DesiredState everything() {
  LoadResult r = load_texts({SourceText{"all.yaml", "/srv/m", kEverything}});
  EXPECT_TRUE(r.ok());
  for (const auto& d : r.diags.items()) ADD_FAILURE() << d.message;
  return make_desired(r.set);
}

ResourceRecord record_of(const ResourceSpec& s) {
  return {kind_name(s.key.kind), s.key.name, s.hash(), 1, s.source_file, 0, s.fields_json()};
}

ResourceRecord record(const std::string& kind, const std::string& name, const std::string& json) {
  return {kind, name, "h", 1, "m.yaml", 0, json};
}

// What a resource shows, rendered again from what was read back: every value
// that is read back must come back as it was written.
template <class R>
void expect_round_trip(const ResourceSpec& spec, const R& back, const KindFields<R>& table, const ManifestSet& set) {
  std::map<std::string, std::string> again;
  for (auto& [name, value] : table.render(back, set)) again[name] = value;
  for (const SpecField& f : spec.fields) {
    const Shown<R>* s = table.find_shown(f.name);
    ASSERT_NE(s, nullptr) << f.name;
    if (!s->read) continue;  // derived from other resources
    EXPECT_EQ(again[f.name], f.value) << spec.key.str() << " " << f.name;
  }
}

TEST(FieldTable, EveryStoredValueReadsBackToTheSameTypedValue) {
  DesiredState d = everything();
  ASSERT_EQ(d.specs.size(), 5u);
  for (const ResourceSpec& s : d.specs) {
    ResourceRecord rec = record_of(s);
    switch (s.key.kind) {
      case Kind::Network: expect_round_trip(s, applied_network(rec), network_fields(), d.set); break;
      case Kind::Kernel: expect_round_trip(s, applied_kernel(rec), kernel_fields(), d.set); break;
      case Kind::Image: expect_round_trip(s, applied_image(rec), image_fields(), d.set); break;
      case Kind::VM: expect_round_trip(s, applied_vm(rec), vm_fields(), d.set); break;
      case Kind::PortForward: expect_round_trip(s, applied_forward(rec), port_forward_fields(), d.set); break;
    }
  }
  VM vm = applied_vm(record_of(*d.find({Kind::VM, "vm"})));
  EXPECT_EQ(vm.memory.value, 2 * GiB);
  EXPECT_EQ(vm.disk_size.value, 8 * GiB);
  EXPECT_EQ(vm.state.value, VmState::Stopped);
  EXPECT_EQ(vm.readiness.probe, Readiness::Probe::Http);
  EXPECT_EQ(vm.readiness.port, 8080);
  EXPECT_EQ(vm.readiness.timeout, std::chrono::seconds(90));
  ASSERT_TRUE(vm.ip.value);
  EXPECT_EQ(vm.ip.value->str(), "10.2.0.10");
  PortForward pf = applied_forward(record_of(*d.find({Kind::PortForward, "pf"})));
  EXPECT_EQ(pf.host_port.value, 18080);
  EXPECT_EQ(pf.protocol.value, Protocol::Udp);
  EXPECT_EQ(pf.host_address.value.str(), "127.0.0.1");
  Kernel k = applied_kernel(record_of(*d.find({Kind::Kernel, "k"})));
  EXPECT_EQ(k.source.url.value, "https://example.com/vmlinux");
  EXPECT_EQ(k.source.sha256.value, std::string(64, 'a'));
  ASSERT_TRUE(k.initrd);
  EXPECT_EQ(k.initrd->resolved_path, "/srv/m/initrd.img");
  EXPECT_EQ(k.initrd->sha256.value, std::string(64, 'b'));
}

TEST(FieldTable, DefaultsAndAllocatedValuesReadBackToo) {
  VM vm = applied_vm(record("VM", "v", R"({"kernel":"k","diskSize":"image size","ip":"auto","readiness":"none"})"));
  EXPECT_EQ(vm.disk_size.value, 0u);
  EXPECT_TRUE(vm.disk_size.set);
  EXPECT_FALSE(vm.ip.value);
  EXPECT_EQ(vm.readiness.probe, Readiness::Probe::None);
  // A field this build does not show (an older or newer build's) is skipped.
  EXPECT_NO_THROW(applied_network(record("Network", "n", R"({"subnet":"10.0.0.0/24","mtu":"9000"})")));
}

TEST(FieldTable, ARecordThatDoesNotReadBackIsAnErrorThatNamesIt) {
  try {
    applied_forward(record("PortForward", "web", R"({"vm":"a","hostPort":"080"})"));
    FAIL() << "expected an error";
  } catch (const HostError& e) {
    EXPECT_EQ(e.code(), ErrorCode::Invalid);
    EXPECT_NE(std::string(e.what()).find("PortForward/web: the applied hostPort \"080\""), std::string::npos)
        << e.what();
  }
  for (const char* bad : {"", "[]", "not json", R"({"memory": 5})"}) {
    EXPECT_THROW(applied_vm(record("VM", "v", bad)), HostError) << bad;
  }
  EXPECT_THROW(applied_vm(record("VM", "v", R"({"memory":"lots"})")), HostError);
  EXPECT_THROW(applied_vm(record("VM", "v", R"({"state":"paused"})")), HostError);
  EXPECT_THROW(applied_network(record("Network", "n", R"({"subnet":"10.0.0.1/24"})")), HostError);
  EXPECT_THROW(applied_network(record("Network", "n", R"({"nat":"yes"})")), HostError);
}

TEST(FieldTable, EffectsComeFromTheTable) {
  EXPECT_EQ(field_effect(Kind::VM, "memory"), FieldEffect::Restart);
  EXPECT_EQ(field_effect(Kind::VM, "kernelSource"), FieldEffect::Restart);
  EXPECT_EQ(field_effect(Kind::VM, "kernelArgs"), FieldEffect::Restart);
  EXPECT_EQ(field_effect(Kind::VM, "image"), FieldEffect::Replace);
  EXPECT_EQ(field_effect(Kind::VM, "imageSource"), FieldEffect::Replace);
  EXPECT_EQ(field_effect(Kind::VM, "state"), FieldEffect::InPlace);
  EXPECT_EQ(field_effect(Kind::VM, "kernel"), FieldEffect::InPlace);
  EXPECT_EQ(field_effect(Kind::VM, "no-such-field"), FieldEffect::InPlace);
  EXPECT_EQ(field_effect(Kind::Network, "subnet"), FieldEffect::Replace);
  EXPECT_EQ(field_effect(Kind::Network, "bridge"), FieldEffect::Replace);
  EXPECT_EQ(field_effect(Kind::Network, "nat"), FieldEffect::InPlace);
  EXPECT_EQ(field_effect(Kind::PortForward, "hostPort"), FieldEffect::InPlace);
}

TEST(FieldTable, EveryEntryIsDocumentedAndNamesAreUnique) {
  for (Kind k : {Kind::Network, Kind::Kernel, Kind::Image, Kind::VM, Kind::PortForward}) {
    auto t = describe_fields(k);
    EXPECT_FALSE(t["doc"].get<std::string>().empty()) << kind_name(k);
    std::set<std::string> keys, shown;
    for (const auto& f : t["fields"]) {
      std::string key = f["key"];
      EXPECT_TRUE(keys.insert(key).second) << kind_name(k) << " key " << key;
      EXPECT_FALSE(f["doc"].get<std::string>().empty()) << key;
      EXPECT_FALSE(f["rule"].get<std::string>().empty()) << key;
      EXPECT_TRUE(f["schema"].is_object() && !f["schema"].empty()) << key;
      for (const auto& s : f["shows"]) EXPECT_TRUE(shown.insert(s["name"]).second) << s["name"];
    }
  }
}

TEST(FieldTable, EnumsAreSpelledOnceForParserNamesAndSchema) {
  auto vm = describe_fields(Kind::VM);
  for (const auto& f : vm["fields"]) {
    if (f["key"] != "restartPolicy") continue;
    EXPECT_EQ(f["schema"]["enum"], nlohmann::ordered_json({"always", "on-failure", "never"}));
    EXPECT_EQ(f["schema"]["default"], "always");
    EXPECT_EQ(f["rule"], "one of: always, on-failure, never");
  }
  for (const auto& [name, value] : enum_names<DiskStrategy>()) {
    EXPECT_EQ(to_string(value), name);
    EXPECT_EQ(enum_text<DiskStrategy>().read(name), value);
  }
}

TEST(FieldTable, SchemaDefaultsAreWrittenAsInAManifest) {
  auto find = [](Kind k, const std::string& key) {
    auto table = describe_fields(k);
    for (const auto& f : table["fields"]) {
      if (f["key"] == key) return f["schema"];
    }
    return nlohmann::ordered_json();
  };
  EXPECT_EQ(find(Kind::VM, "vcpus")["default"], 1);
  EXPECT_EQ(find(Kind::VM, "memory")["default"], "512Mi");
  EXPECT_EQ(find(Kind::Network, "nat")["default"], true);
  EXPECT_EQ(find(Kind::PortForward, "hostAddress")["default"], "0.0.0.0");
  EXPECT_FALSE(find(Kind::VM, "diskSize").contains("default"));
}

}  // namespace
}  // namespace banger
