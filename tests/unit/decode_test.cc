// One document at a time: defaults, typed values, marks, path resolution and
// every per-field error, end to end through load_texts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resources/loader.h"
#include "resources/model.h"
#include "resources/manifest_loader.h"
#include "resources/names.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kArtifacts = R"(apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec: {path: vmlinuz}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: img}
spec: {path: rootfs.ext4}
)";

LoadResult load(const std::string& text, const std::string& name = "m.yaml",
                const std::string& base = "/srv/manifests") {
  return load_texts({SourceText{name, base, text}});
}

// With a Kernel "k" and an Image "img" in a second file, so that a VM's
// references resolve and only what the test is about is reported.
LoadResult load_with_artifacts(const std::string& text, const std::string& name = "m.yaml") {
  return load_texts({SourceText{"artifacts.yaml", "/srv/manifests", kArtifacts},
                     SourceText{name, "/srv/manifests", text}});
}

std::string dump(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diags.sorted()) out += d.format() + "\n";
  return out.empty() ? "(no diagnostics)\n" : out;
}

// The one diagnostic about `field`; fails when there is not exactly one.
Diagnostic only(const LoadResult& r, const std::string& field) {
  std::vector<Diagnostic> found;
  for (const Diagnostic& d : r.diags.items()) {
    if (d.field == field) found.push_back(d);
  }
  EXPECT_EQ(found.size(), 1u) << "diagnostics about " << field << ":\n" << dump(r);
  return found.empty() ? Diagnostic{} : found.front();
}

std::string vm(const std::string& spec_lines, const std::string& name = "web") {
  return "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: " + name +
         "\nspec:\n  kernel: k\n  image: img\n" + spec_lines;
}

// ------------------------------------------------------------------ defaults

TEST(Defaults, MinimalVm) {
  LoadResult r = load_with_artifacts(vm(""));
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.vms.size(), 1u);
  const VM& v = r.set.vms[0];
  EXPECT_EQ(v.name(), "web");
  EXPECT_EQ(v.kind, Kind::VM);
  EXPECT_EQ(v.kernel.value, "k");
  EXPECT_EQ(v.image.value, "img");
  EXPECT_EQ(v.vcpus.value, 1);
  EXPECT_FALSE(v.vcpus.set);
  EXPECT_EQ(v.memory.value, 512 * MiB);
  EXPECT_FALSE(v.memory.set);
  EXPECT_EQ(v.disk_size.value, 0u);  // the image's size
  EXPECT_FALSE(v.disk_size.set);
  EXPECT_EQ(v.network.value, "default");
  EXPECT_FALSE(v.network.set);
  EXPECT_FALSE(v.ip.value.has_value());
  EXPECT_EQ(v.kernel_args.value, "");
  EXPECT_EQ(v.state.value, VmState::Running);
  EXPECT_EQ(v.restart_policy.value, RestartPolicy::Always);
  EXPECT_EQ(v.runtime.value, Runtime::Auto);
  EXPECT_EQ(v.disk_strategy.value, DiskStrategy::Auto);
  EXPECT_EQ(v.readiness.probe, Readiness::Probe::None);
  EXPECT_EQ(v.readiness.timeout, milliseconds(120000));
  EXPECT_TRUE(v.metadata.labels.empty());
  EXPECT_STREQ(to_string(v.state.value), "running");
  EXPECT_STREQ(to_string(v.restart_policy.value), "always");
  EXPECT_STREQ(to_string(v.runtime.value), "auto");
  EXPECT_STREQ(to_string(v.disk_strategy.value), "auto");
}

TEST(Defaults, ImplicitDefaultNetwork) {
  LoadResult r = load_with_artifacts(vm(""));
  ASSERT_TRUE(r.ok()) << dump(r);
  const Network* n = r.set.find_network("default");
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->implicit);
  EXPECT_EQ(n->kind, Kind::Network);
  EXPECT_EQ(n->subnet.value.str(), "172.20.0.0/24");
  EXPECT_EQ(n->bridge.value, "bg-default");
  EXPECT_TRUE(n->nat.value);
  EXPECT_EQ(r.set.networks.size(), 1u);
}

TEST(Defaults, ImplicitDefaultNetworkExistsEvenWithoutVms) {
  LoadResult r = load(kArtifacts);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.networks.size(), 1u);
  EXPECT_TRUE(r.set.networks[0].implicit);
}

TEST(Defaults, DeclaredDefaultNetworkReplacesTheImplicitOne) {
  LoadResult r = load_with_artifacts(vm("") + R"(---
apiVersion: banger.dev/v1
kind: Network
metadata: {name: default}
spec: {subnet: 10.99.0.0/16}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.networks.size(), 1u);
  const Network& n = r.set.networks[0];
  EXPECT_FALSE(n.implicit);
  EXPECT_EQ(n.subnet.value.str(), "10.99.0.0/16");
  EXPECT_EQ(n.bridge.value, "bg-default");
}

TEST(Defaults, OtherNetworksDoNotReplaceTheImplicitDefault) {
  LoadResult r = load(R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: fleet}
spec: {subnet: 10.42.0.0/24}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.networks.size(), 2u);
  ASSERT_NE(r.set.find_network("default"), nullptr);
  EXPECT_TRUE(r.set.find_network("default")->implicit);
  EXPECT_FALSE(r.set.find_network("fleet")->implicit);
}

TEST(Defaults, Network) {
  LoadResult r = load(R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: fleet}
spec:
  subnet: 10.42.0.0/24
---
apiVersion: banger.dev/v1
kind: Network
metadata: {name: production-east}
spec:
  subnet: 10.43.0.0/24
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Network* fleet = r.set.find_network("fleet");
  ASSERT_NE(fleet, nullptr);
  EXPECT_TRUE(fleet->nat.value);
  EXPECT_FALSE(fleet->nat.set);
  EXPECT_EQ(fleet->bridge.value, "bg-fleet");
  EXPECT_FALSE(fleet->bridge.set);
  EXPECT_EQ(fleet->subnet.value.str(), "10.42.0.0/24");
  const Network* east = r.set.find_network("production-east");
  ASSERT_NE(east, nullptr);
  EXPECT_EQ(east->bridge.value, default_bridge_name("production-east"));
  EXPECT_LE(east->bridge.value.size(), 15u);
}

TEST(Defaults, NetworkExplicitValues) {
  LoadResult r = load(R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: fleet}
spec: {subnet: 10.42.0.0/24, bridge: br-custom, nat: false}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Network* n = r.set.find_network("fleet");
  ASSERT_NE(n, nullptr);
  EXPECT_FALSE(n->nat.value);
  EXPECT_TRUE(n->nat.set);
  EXPECT_EQ(n->bridge.value, "br-custom");
  EXPECT_TRUE(n->bridge.set);
}

TEST(Defaults, KernelArgs) {
  LoadResult r = load(kArtifacts);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.kernels.size(), 1u);
  EXPECT_EQ(r.set.kernels[0].args.value, "console=ttyS0 reboot=k panic=1");
  EXPECT_EQ(r.set.kernels[0].args.value, kDefaultKernelArgs);
  EXPECT_FALSE(r.set.kernels[0].args.set);
  EXPECT_FALSE(r.set.kernels[0].initrd.has_value());
}

TEST(Defaults, PortForward) {
  LoadResult r = load_with_artifacts(vm("") + R"(---
apiVersion: banger.dev/v1
kind: PortForward
metadata: {name: web-http}
spec: {vm: web, hostPort: 8080, guestPort: 80}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.port_forwards.size(), 1u);
  const PortForward& p = r.set.port_forwards[0];
  EXPECT_EQ(p.protocol.value, Protocol::Tcp);
  EXPECT_FALSE(p.protocol.set);
  EXPECT_EQ(p.host_address.value.str(), "0.0.0.0");
  EXPECT_FALSE(p.host_address.set);
  EXPECT_EQ(p.host_port.value, 8080);
  EXPECT_EQ(p.guest_port.value, 80);
  EXPECT_EQ(p.vm.value, "web");
}

TEST(Defaults, ReadinessHttp) {
  LoadResult r = load_with_artifacts(vm("  readiness:\n    http: {port: 8080}\n"));
  ASSERT_TRUE(r.ok()) << dump(r);
  const Readiness& rd = r.set.vms[0].readiness;
  EXPECT_EQ(rd.probe, Readiness::Probe::Http);
  EXPECT_EQ(rd.port, 8080);
  EXPECT_EQ(rd.path, "/");
  EXPECT_EQ(rd.timeout, milliseconds(120000));
}

TEST(Defaults, ReadinessTcp) {
  LoadResult r = load_with_artifacts(vm("  readiness:\n    tcp: 22\n"));
  ASSERT_TRUE(r.ok()) << dump(r);
  const Readiness& rd = r.set.vms[0].readiness;
  EXPECT_EQ(rd.probe, Readiness::Probe::Tcp);
  EXPECT_EQ(rd.port, 22);
  EXPECT_EQ(rd.timeout, milliseconds(120000));
}

// ---------------------------------------------------------- explicit values

TEST(Decode, EveryVmField) {
  LoadResult r = load_with_artifacts(R"(apiVersion: banger.dev/v1
kind: VM
metadata:
  name: db
  labels:
    app: postgres
    example.com/tier: backend
    empty: ""
spec:
  kernel: k
  image: img
  vcpus: 4
  memory: 1.5Gi
  diskSize: 10Gi
  network: default
  ip: 172.20.0.10
  kernelArgs: quiet loglevel=3
  state: stopped
  restartPolicy: on-failure
  runtime: qemu
  diskStrategy: reflink
  readiness:
    http: {port: 5432, path: /healthz}
    timeout: 1m30s
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.vms.size(), 1u);
  const VM& v = r.set.vms[0];
  EXPECT_EQ(v.vcpus.value, 4);
  EXPECT_TRUE(v.vcpus.set);
  EXPECT_EQ(v.memory.value, 1536 * MiB);
  EXPECT_EQ(v.disk_size.value, 10 * GiB);
  EXPECT_EQ(v.network.value, "default");
  EXPECT_TRUE(v.network.set);
  ASSERT_TRUE(v.ip.value.has_value());
  EXPECT_EQ(v.ip.value->str(), "172.20.0.10");
  EXPECT_TRUE(v.ip.set);
  EXPECT_EQ(v.kernel_args.value, "quiet loglevel=3");
  EXPECT_EQ(v.state.value, VmState::Stopped);
  EXPECT_EQ(v.restart_policy.value, RestartPolicy::OnFailure);
  EXPECT_EQ(v.runtime.value, Runtime::Qemu);
  EXPECT_EQ(v.disk_strategy.value, DiskStrategy::Reflink);
  EXPECT_EQ(v.readiness.probe, Readiness::Probe::Http);
  EXPECT_EQ(v.readiness.port, 5432);
  EXPECT_EQ(v.readiness.path, "/healthz");
  EXPECT_EQ(v.readiness.timeout, milliseconds(90000));
  std::map<std::string, std::string> labels = {
      {"app", "postgres"}, {"example.com/tier", "backend"}, {"empty", ""}};
  EXPECT_EQ(v.metadata.labels, labels);
}

TEST(Decode, EnumSpellings) {
  struct Case {
    const char* field;
    const char* value;
  };
  for (Case c : {Case{"state", "running"}, Case{"state", "stopped"},
                 Case{"restartPolicy", "always"}, Case{"restartPolicy", "on-failure"},
                 Case{"restartPolicy", "never"}, Case{"runtime", "auto"},
                 Case{"runtime", "firecracker"}, Case{"runtime", "qemu"},
                 Case{"diskStrategy", "auto"}, Case{"diskStrategy", "snapshot"},
                 Case{"diskStrategy", "reflink"}, Case{"diskStrategy", "copy"}}) {
    LoadResult r = load_with_artifacts(vm(std::string("  ") + c.field + ": " + c.value + "\n"));
    ASSERT_TRUE(r.ok()) << c.field << "=" << c.value << "\n" << dump(r);
    const VM& v = r.set.vms[0];
    std::string got = std::string(c.field) == "state"           ? to_string(v.state.value)
                      : std::string(c.field) == "restartPolicy" ? to_string(v.restart_policy.value)
                      : std::string(c.field) == "runtime"       ? to_string(v.runtime.value)
                                                                : to_string(v.disk_strategy.value);
    EXPECT_EQ(got, c.value);
  }
}

TEST(Decode, SizesAsByteCountsAndFractions) {
  LoadResult r = load_with_artifacts(vm("  memory: 1073741824\n  diskSize: 0x100000000\n"));
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.set.vms[0].memory.value, GiB);
  EXPECT_EQ(r.set.vms[0].disk_size.value, 4 * GiB);
}

TEST(Decode, SizeErrors) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (Case c : {Case{"512M", "is not a valid size"}, Case{"1Gb", "is not a valid size"},
                 Case{"-1Gi", "is not a valid size"}, Case{"8Mi", "out of range"},
                 Case{"2Ti", "out of range"}, Case{"0", "out of range"}, Case{"-5", "out of range"},
                 Case{"99999999999999999999", "out of range"},
                 Case{"16385Ki", "whole number of Mi"}, Case{"536870913", "whole number of Mi"},
                 Case{"1.5", "is a number"}, Case{"[512Mi]", "is a list"}, Case{"", "is empty"},
                 Case{"true", "is a boolean"}}) {
    LoadResult r = load_with_artifacts(vm(std::string("  memory: ") + c.text + "\n"));
    Diagnostic d = only(r, "spec.memory");
    EXPECT_NE(d.message.find(c.expect), std::string::npos) << c.text << ": " << d.format();
    EXPECT_NE(d.message.find("expected a size"), std::string::npos) << d.format();
  }
}

TEST(Decode, DurationForms) {
  struct Case {
    const char* text;
    long long ms;
  };
  for (Case c : {Case{"120s", 120000}, Case{"2m", 120000}, Case{"1m30s", 90000},
                 Case{"90", 90000}, Case{"1h", 3600000}, Case{"1s", 1000},
                 Case{"1500ms", 1500}}) {
    LoadResult r = load_with_artifacts(
        vm(std::string("  readiness:\n    tcp: 22\n    timeout: ") + c.text + "\n"));
    ASSERT_TRUE(r.ok()) << c.text << "\n" << dump(r);
    EXPECT_EQ(r.set.vms[0].readiness.timeout, milliseconds(c.ms)) << c.text;
  }
}

TEST(Decode, DurationErrors) {
  for (const char* t : {"0", "0s", "500ms", "2h", "61m", "3601", "-1", "soon", "1.5s", "10d", "[1]",
                        "\"120\"", "99999999999999999999"}) {
    LoadResult r = load_with_artifacts(
        vm(std::string("  readiness:\n    tcp: 22\n    timeout: ") + t + "\n"));
    Diagnostic d = only(r, "spec.readiness.timeout");
    EXPECT_NE(d.message.find("expected a duration"), std::string::npos) << t << ": " << d.format();
  }
}

// ---------------------------------------------------------------------- marks

TEST(Marks, ValuesAreOneBased) {
  LoadResult r = load_with_artifacts(R"(apiVersion: banger.dev/v1
kind: VM
metadata:
  name: web
spec:
  kernel: k
  image:   img
  vcpus: 99
)");
  ASSERT_EQ(r.set.vms.size(), 1u);
  const VM& v = r.set.vms[0];
  EXPECT_EQ(v.mark.file, "m.yaml");
  EXPECT_EQ(v.mark.line, 1);
  EXPECT_EQ(v.mark.column, 1);
  EXPECT_EQ(v.metadata.name_mark.line, 4);
  EXPECT_EQ(v.metadata.name_mark.column, 9);
  EXPECT_EQ(v.kernel.mark.line, 6);
  EXPECT_EQ(v.kernel.mark.column, 11);
  EXPECT_EQ(v.image.mark.line, 7);
  EXPECT_EQ(v.image.mark.column, 12);
  Diagnostic d = only(r, "spec.vcpus");
  EXPECT_EQ(d.mark.file, "m.yaml");
  EXPECT_EQ(d.mark.line, 8);
  EXPECT_EQ(d.mark.column, 10);
  EXPECT_EQ(d.kind, "VM");
  EXPECT_EQ(d.name, "web");
  EXPECT_EQ(d.format(),
            "m.yaml:8:10: VM/web: spec.vcpus: 99 is out of range (expected an integer from 1 to 32)");
}

TEST(Marks, EmptyValuesPointAtTheirKey) {
  LoadResult r = load_with_artifacts(R"(apiVersion: banger.dev/v1
kind: VM
metadata:
  name: web
spec:
  kernel: k
  image:
  vcpus: 2
)");
  Diagnostic d = only(r, "spec.image");
  EXPECT_EQ(d.mark.line, 7);
  EXPECT_EQ(d.mark.column, 3);
  EXPECT_NE(d.message.find("is empty"), std::string::npos) << d.format();
}

TEST(Marks, EmptyValueAtTheEndOfTheDocument) {
  LoadResult r = load_with_artifacts(
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: web\nspec:\n  kernel: k\n"
      "  image: img\n  memory:\n---\n# next\n");
  Diagnostic d = only(r, "spec.memory");
  EXPECT_EQ(d.mark.line, 8);
  EXPECT_EQ(d.mark.column, 3);
}

TEST(Marks, FlowStyleValues) {
  LoadResult r = load(
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.0.0.0/33}\n");
  Diagnostic d = only(r, "spec.subnet");
  EXPECT_EQ(d.mark.line, 4);
  EXPECT_EQ(d.mark.column, 16);
}

TEST(Marks, SecondDocumentCountsFromTheFileStart) {
  LoadResult r = load_with_artifacts("# leading comment\n---\n" + vm("", "a") + "---\n" +
                                     vm("  vcpus: 0\n", "b"));
  ASSERT_EQ(r.set.vms.size(), 2u);
  EXPECT_EQ(r.set.vms[0].mark.line, 3);
  EXPECT_EQ(r.set.vms[1].mark.line, 11);
  Diagnostic d = only(r, "spec.vcpus");
  EXPECT_EQ(d.mark.line, 18);
  EXPECT_EQ(d.mark.column, 10);
  EXPECT_EQ(d.name, "b");
}

TEST(Marks, MissingRequiredFieldPointsAtItsMapping) {
  LoadResult r = load_with_artifacts(
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: web\nspec:\n  image: img\n");
  Diagnostic d = only(r, "spec.kernel");
  EXPECT_EQ(d.mark.line, 6);
  EXPECT_EQ(d.mark.column, 3);
  EXPECT_NE(d.message.find("is required"), std::string::npos);
}

// ------------------------------------------------------ relative path resolution

TEST(Paths, RelativeToTheManifestsFolder) {
  LoadResult r = load(R"(apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec:
  path: artifacts/vmlinuz
  initrd: {path: ../initrd.img}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: a}
spec: {path: ./images/./root.ext4}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: b}
spec: {path: /var/images/root.ext4}
)",
                      "site/m.yaml", "/srv/site");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.kernels.size(), 1u);
  const Kernel& k = r.set.kernels[0];
  EXPECT_EQ(k.source.path.value, "artifacts/vmlinuz");  // as written
  EXPECT_EQ(k.source.resolved_path, "/srv/site/artifacts/vmlinuz");
  ASSERT_TRUE(k.initrd.has_value());
  EXPECT_EQ(k.initrd->resolved_path, "/srv/initrd.img");
  EXPECT_EQ(r.set.find_image("a")->source.resolved_path, "/srv/site/images/root.ext4");
  EXPECT_EQ(r.set.find_image("b")->source.resolved_path, "/var/images/root.ext4");
}

TEST(Paths, EachFileUsesItsOwnFolder) {
  std::string image = "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: NAME}\n"
                      "spec: {path: root.ext4}\n";
  auto named = [&](const char* n) {
    std::string s = image;
    s.replace(s.find("NAME"), 4, n);
    return s;
  };
  LoadResult r = load_texts({SourceText{"a/x.yaml", "/m/a", named("one")},
                             SourceText{"b/y.yaml", "/m/b", named("two")}});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.set.find_image("one")->source.resolved_path, "/m/a/root.ext4");
  EXPECT_EQ(r.set.find_image("two")->source.resolved_path, "/m/b/root.ext4");
}

// model.h: resolved_path is "path made absolute against the manifest's folder".
// It must not depend on how the user spelled the manifest's own path (a
// relative -f) nor on the current directory at the time it is used.
TEST(Paths, ResolvedPathIsAbsoluteWhenTheManifestPathIsRelative) {
  fs::path tmp = fs::temp_directory_path() / ("banger-decode-" + std::to_string(getpid()));
  fs::create_directories(tmp / "site");
  {
    std::ofstream(tmp / "site" / "k.yaml")
        << "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
           "spec: {path: artifacts/vmlinuz}\n";
  }
  fs::path old = fs::current_path();
  fs::current_path(tmp);
  std::istringstream no_stdin;
  LoadResult r = load_manifests({"site/k.yaml"}, no_stdin);
  fs::current_path(old);
  fs::remove_all(tmp);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.set.kernels.size(), 1u);
  const std::string& resolved = r.set.kernels[0].source.resolved_path;
  EXPECT_TRUE(fs::path(resolved).is_absolute()) << resolved;
  EXPECT_EQ(resolved, (tmp / "site" / "artifacts" / "vmlinuz").string());
}

// ---------------------------------------------------------- artifact sources

TEST(Artifacts, ExactlyOneOfPathOrUrl) {
  LoadResult both = load(
      "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
      "spec: {path: a.ext4, url: 'https://x/a.ext4', sha256: " + std::string(64, 'a') + "}\n");
  EXPECT_NE(only(both, "spec.url").message.find("both set"), std::string::npos) << dump(both);
  LoadResult neither = load("apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
                            "spec: {sha256: " + std::string(64, 'a') + "}\n");
  EXPECT_NE(only(neither, "spec.path").message.find("is required"), std::string::npos)
      << dump(neither);
}

TEST(Artifacts, UrlNeedsSha256) {
  LoadResult r = load("apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                      "spec: {url: 'https://example.com/vmlinuz'}\n");
  EXPECT_NE(only(r, "spec.sha256").message.find("is required with url"), std::string::npos)
      << dump(r);
}

TEST(Artifacts, Sha256IsCheckedAndLowercased) {
  std::string upper = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
  LoadResult ok = load("apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                       "spec: {url: 'https://example.com/vmlinuz', sha256: " + upper + "}\n");
  ASSERT_TRUE(ok.ok()) << dump(ok);
  EXPECT_EQ(ok.set.kernels[0].source.sha256.value,
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  for (std::string bad : {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'g'),
                          std::string("sha256:") + std::string(64, 'a')}) {
    LoadResult r = load("apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
                        "spec: {path: a.ext4, sha256: '" + bad + "'}\n");
    EXPECT_NE(only(r, "spec.sha256").message.find("is not a SHA-256 digest"), std::string::npos)
        << bad << "\n" << dump(r);
  }
}

TEST(Artifacts, UrlSchemes) {
  std::string sha = std::string(64, 'b');
  for (const char* good : {"https://example.com/a", "http://10.0.0.1:8080/x", "file:///srv/a"}) {
    LoadResult r = load("apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
                        "spec: {url: '" + std::string(good) + "', sha256: " + sha + "}\n");
    EXPECT_TRUE(r.ok()) << good << "\n" << dump(r);
  }
  for (const char* bad : {"ftp://example.com/a", "example.com/a", "https://", "https://a b"}) {
    LoadResult r = load("apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
                        "spec: {url: '" + std::string(bad) + "', sha256: " + sha + "}\n");
    EXPECT_NE(only(r, "spec.url").message.find("is not a supported URL"), std::string::npos)
        << bad << "\n" << dump(r);
  }
}

TEST(Artifacts, InitrdIsCheckedLikeTheKernel) {
  LoadResult r = load("apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                      "spec:\n  path: vmlinuz\n  initrd: {url: 'https://x/initrd'}\n");
  EXPECT_NE(only(r, "spec.initrd.sha256").message.find("is required"), std::string::npos)
      << dump(r);
  LoadResult empty = load("apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                          "spec:\n  path: vmlinuz\n  initrd:\n");
  EXPECT_NE(only(empty, "spec.initrd").message.find("expected a mapping"), std::string::npos)
      << dump(empty);
}

// ------------------------------------------------------------------- networks

TEST(Networks, SubnetRules) {
  struct Case {
    const char* subnet;
    const char* expect;
  };
  for (Case c : {Case{"10.0.0.0/30", "/30 prefix"}, Case{"10.0.0.0/15", "/15 prefix"},
                 Case{"10.0.0.0/33", "not a valid CIDR"}, Case{"10.0.0.0", "not a valid CIDR"},
                 Case{"010.0.0.0/24", "not a valid CIDR"},
                 Case{"10.0.0.5/24", "did you mean \"10.0.0.0/24\"?"}}) {
    LoadResult r = load(std::string("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                                    "spec: {subnet: ") + c.subnet + "}\n");
    Diagnostic d = only(r, "spec.subnet");
    EXPECT_NE(d.message.find(c.expect), std::string::npos) << c.subnet << ": " << d.format();
  }
  for (const char* good : {"10.0.0.0/16", "10.0.0.0/29", "192.168.8.0/21"}) {
    LoadResult r = load(std::string("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                                    "spec: {subnet: ") + good + "}\n");
    EXPECT_TRUE(r.ok()) << good << "\n" << dump(r);
  }
}

TEST(Networks, BridgeRules) {
  LoadResult r = load("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                      "spec: {subnet: 10.0.0.0/24, bridge: a-very-long-bridge}\n");
  EXPECT_NE(only(r, "spec.bridge").message.find("18 characters long"), std::string::npos) << dump(r);
  LoadResult bad = load("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                        "spec: {subnet: 10.0.0.0/24, bridge: 'br 0'}\n");
  EXPECT_NE(only(bad, "spec.bridge").message.find("not a valid interface name"), std::string::npos)
      << dump(bad);
}

TEST(Networks, NatMustBeABoolean) {
  for (const char* t : {"yes", "\"true\"", "1", "on"}) {
    LoadResult r = load(std::string("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                                    "spec: {subnet: 10.0.0.0/24, nat: ") + t + "}\n");
    EXPECT_NE(only(r, "spec.nat").message.find("expected true or false"), std::string::npos)
        << t << "\n" << dump(r);
  }
}

// ------------------------------------------------------------ document shape

TEST(Documents, UnknownFieldsWithSuggestions) {
  LoadResult r = load_with_artifacts(vm("  vcpu: 2\n  memroy: 1Gi\n  colour: blue\n"));
  EXPECT_NE(only(r, "spec.vcpu").message.find("did you mean \"vcpus\"?"), std::string::npos)
      << dump(r);
  EXPECT_NE(only(r, "spec.memroy").message.find("did you mean \"memory\"?"), std::string::npos);
  EXPECT_NE(only(r, "spec.colour").message.find("expected one of: kernel, image"),
            std::string::npos);
  EXPECT_EQ(r.diags.size(), 3u) << dump(r);
}

TEST(Documents, UnknownTopLevelAndMetadataFields) {
  LoadResult r = load_with_artifacts(
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: web\n  namespace: x\n"
      "spec: {kernel: k, image: img}\nstatus: {}\n");
  EXPECT_EQ(r.diags.size(), 2u) << dump(r);
  only(r, "metadata.namespace");
  only(r, "status");
}

TEST(Documents, KindAndApiVersion) {
  LoadResult kind = load("apiVersion: banger.dev/v1\nkind: Vm\nmetadata: {name: a}\nspec: {}\n");
  EXPECT_NE(only(kind, "kind").message.find("did you mean \"VM\"?"), std::string::npos)
      << dump(kind);
  LoadResult api = load_with_artifacts(
      "apiVersion: banger.dev/v2\nkind: VM\nmetadata: {name: a}\nspec: {kernel: k, image: img}\n");
  EXPECT_NE(only(api, "apiVersion").message.find("is not supported"), std::string::npos)
      << dump(api);
  LoadResult missing = load("metadata: {name: a}\nspec: {}\n");
  only(missing, "apiVersion");
  only(missing, "kind");
}

TEST(Documents, DuplicateKeys) {
  LoadResult r = load_with_artifacts(vm("  vcpus: 1\n  vcpus: 2\n"));
  Diagnostic d = only(r, "spec.vcpus");
  EXPECT_NE(d.message.find("duplicate key"), std::string::npos) << d.format();
  EXPECT_EQ(d.mark.line, 9);
}

TEST(Documents, NamesMustBeDns1123) {
  for (std::string n : {std::string("Web"), std::string("web_1"), std::string("-web"),
                        std::string("\"\""), std::string(64, 'a')}) {
    LoadResult r = load_with_artifacts(vm("", n));
    EXPECT_EQ(only(r, "metadata.name").field, "metadata.name") << n << "\n" << dump(r);
  }
  LoadResult number = load_with_artifacts(vm("", "123"));
  EXPECT_NE(only(number, "metadata.name").message.find("is an integer"), std::string::npos)
      << dump(number);
}

// A name is written by the user: where a diagnostic shows it (KIND/NAME, or
// "already used by VM/NAME"), control characters must come out escaped, so
// that every diagnostic stays one line and cannot drive the terminal.
TEST(Documents, NamesWithControlCharactersStayOnOneLine) {
  LoadResult r = load_with_artifacts(
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: \"a\\nb\\e[31m\"}\n"
      "spec: {kernel: k, image: img, ip: 172.20.0.5}\n---\n"
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: \"c\\rd\"}\n"
      "spec: {kernel: k, image: img, ip: 172.20.0.5}\n");
  ASSERT_GE(r.diags.size(), 3u) << dump(r);
  for (const Diagnostic& d : r.diags.items()) {
    std::string f = d.format();
    for (unsigned char c : f) {
      EXPECT_FALSE(c < 0x20 || c == 0x7f) << "raw control byte " << int(c) << " in: " << f;
    }
  }
}

TEST(Documents, Labels) {
  LoadResult r = load_with_artifacts(
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: web\n  labels:\n"
      "    tier: 1\n    -bad: x\n    ok: 'not ok'\n    fine: yes\n"
      "spec: {kernel: k, image: img}\n");
  EXPECT_NE(only(r, "metadata.labels.tier").message.find("quote numbers"), std::string::npos)
      << dump(r);
  EXPECT_NE(only(r, "metadata.labels").message.find("\"-bad\" is not a valid label key"),
            std::string::npos);
  EXPECT_NE(only(r, "metadata.labels.ok").message.find("is not a valid label value"),
            std::string::npos);
  EXPECT_EQ(r.diags.size(), 3u) << dump(r);
  ASSERT_EQ(r.set.vms.size(), 1u);
  EXPECT_EQ(r.set.vms[0].metadata.labels.at("fine"), "yes");
}

// VM description: the field added through the field table alone.
TEST(Documents, DescriptionIsOneLineOfAtMost256Characters) {
  LoadResult ok = load_with_artifacts(vm("  description: \"Postgres for CI — primary\"\n"));
  ASSERT_TRUE(ok.ok()) << dump(ok);
  EXPECT_EQ(ok.set.vms[0].description.value, "Postgres for CI — primary");
  EXPECT_EQ(load_with_artifacts(vm("")).set.vms[0].description.value, "");
  // 256 characters of two bytes each are still 256 characters.
  std::string wide;
  for (int i = 0; i < 256; ++i) wide += "é";
  EXPECT_TRUE(load_with_artifacts(vm("  description: " + wide + "\n")).ok());
  LoadResult long_one = load_with_artifacts(vm("  description: " + std::string(257, 'x') + "\n"));
  EXPECT_NE(only(long_one, "spec.description").message.find("is 257 characters long (expected one line of at most 256 characters)"),
            std::string::npos)
      << dump(long_one);
  LoadResult two_lines = load_with_artifacts(vm("  description: \"a\\nb\"\n"));
  EXPECT_NE(only(two_lines, "spec.description").message.find("line break"), std::string::npos) << dump(two_lines);
  EXPECT_NE(only(load_with_artifacts(vm("  description: 12\n")), "spec.description").message.find("is an integer"),
            std::string::npos);
}

TEST(Documents, WrongTypes) {
  LoadResult r = load_with_artifacts(vm("  vcpus: \"2\"\n  network: [a]\n  kernelArgs: {a: b}\n"));
  EXPECT_NE(only(r, "spec.vcpus").message.find("\"2\" is a string"), std::string::npos) << dump(r);
  EXPECT_NE(only(r, "spec.network").message.find("is a list"), std::string::npos);
  EXPECT_NE(only(r, "spec.kernelArgs").message.find("is a mapping"), std::string::npos);
}

TEST(Documents, EnumSuggestions) {
  LoadResult r = load_with_artifacts(
      vm("  state: runing\n  restartPolicy: onfailure\n  runtime: Firecracker\n"
         "  diskStrategy: fast\n"));
  EXPECT_NE(only(r, "spec.state").message.find("did you mean \"running\"?"), std::string::npos)
      << dump(r);
  EXPECT_NE(only(r, "spec.restartPolicy").message.find("did you mean \"on-failure\"?"),
            std::string::npos);
  EXPECT_NE(only(r, "spec.runtime").message.find("did you mean \"firecracker\"?"),
            std::string::npos);
  Diagnostic d = only(r, "spec.diskStrategy");
  EXPECT_NE(d.message.find("one of: auto, snapshot, reflink, copy"), std::string::npos);
  EXPECT_EQ(d.message.find("did you mean"), std::string::npos) << d.format();
}

TEST(Documents, RootMustBeAMapping) {
  for (const char* text : {"- a\n- b\n", "hello\n", "42\n", "[apiVersion, kind]\n"}) {
    LoadResult r = load(text);
    ASSERT_EQ(r.diags.size(), 1u) << text << dump(r);
    EXPECT_NE(r.diags.items()[0].message.find("expected a mapping with apiVersion"),
              std::string::npos)
        << dump(r);
  }
}

TEST(Documents, EmptyFilesHaveNoDocuments) {
  for (const char* text : {"", "# only a comment\n", "---\n", "---\n...\n---\n# c\n", "\n\n\n"}) {
    LoadResult r = load(text, "empty.yaml");
    ASSERT_EQ(r.diags.size(), 1u) << "'" << text << "'\n" << dump(r);
    const Diagnostic& d = r.diags.items()[0];
    EXPECT_EQ(d.mark.file, "empty.yaml");
    EXPECT_EQ(d.mark.line, 0);
    EXPECT_NE(d.message.find("no documents"), std::string::npos) << d.format();
    EXPECT_EQ(r.documents, 0u);
  }
}

TEST(Documents, SyntaxErrorsHaveAPosition) {
  LoadResult r = load("apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: a\nspec: {}\n",
                      "broken.yaml");
  ASSERT_EQ(r.diags.size(), 1u) << dump(r);
  const Diagnostic& d = r.diags.items()[0];
  EXPECT_EQ(d.mark.file, "broken.yaml");
  EXPECT_GE(d.mark.line, 3);
  EXPECT_NE(d.message.find("invalid YAML"), std::string::npos);
}

// Documents are decoded one at a time as they are parsed; a syntax error
// further down still means the file yields nothing: no resources, and no
// errors about the documents before it.
TEST(Documents, SyntaxErrorAfterGoodAndBadDocumentsIsTheFilesOnlyError) {
  LoadResult r = load_with_artifacts(vm("", "a") + "---\n" + vm("  vcpu: 2\n", "b") +
                                         "---\nkind: VM\nmetadata: {name: c\n",
                                     "broken.yaml");
  ASSERT_EQ(r.diags.size(), 1u) << dump(r);
  EXPECT_EQ(r.diags.items()[0].mark.file, "broken.yaml");
  EXPECT_NE(r.diags.items()[0].message.find("invalid YAML"), std::string::npos) << dump(r);
  EXPECT_TRUE(r.set.vms.empty());
  EXPECT_EQ(r.documents, 2u);  // artifacts.yaml's
}

// A file of more documents than any fleet is refused with one error at the
// first document past the limit, not one error (or resource) per document:
// each one costs memory, and a 32 MiB file holds millions of tiny ones.
TEST(Documents, FileWithTooManyDocumentsIsRefusedAtTheFirstOnePastTheLimit) {
  std::string text;
  text.reserve((kMaxDocumentsPerFile + 1) * 6);
  for (size_t i = 0; i <= kMaxDocumentsPerFile; ++i) text += "---\nx\n";
  LoadResult r = load(text, "many.yaml");
  ASSERT_EQ(r.diags.size(), 1u) << r.diags.items()[0].format();
  const Diagnostic& d = r.diags.items()[0];
  EXPECT_EQ(d.mark.file, "many.yaml");
  EXPECT_EQ(d.mark.line, static_cast<int>(2 * kMaxDocumentsPerFile + 1));
  EXPECT_NE(d.message.find("file has more than " + std::to_string(kMaxDocumentsPerFile) + " documents"),
            std::string::npos)
      << d.format();
  EXPECT_EQ(r.documents, 0u);
}

TEST(Documents, DocumentWithTooManyNodesIsRefused) {
  std::string list = "a: 1\n---\nspec: [";
  for (size_t i = 0; i < kMaxNodesPerDocument; ++i) list += "1,";
  LoadResult r = load(list + "1]\n", "wide.yaml");
  ASSERT_EQ(r.diags.size(), 1u) << dump(r);
  const Diagnostic& d = r.diags.items()[0];
  EXPECT_EQ(d.mark.file, "wide.yaml");
  EXPECT_EQ(d.mark.line, 2);  // where the document starts
  EXPECT_NE(d.message.find("document has more than " + std::to_string(kMaxNodesPerDocument) + " YAML nodes"),
            std::string::npos)
      << d.format();
}

// The limits are far above a real fleet: 5000 VMs in one file are read.
TEST(Documents, FiveThousandVmsInOneFileAreWithinTheLimits) {
  std::string text = "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.0.0.0/16}\n";
  for (int i = 0; i < 5000; ++i) {
    text += "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: vm-" + std::to_string(i) +
            ", labels: {app: web}}\nspec: {kernel: k, image: img, network: n, memory: 256Mi, "
            "readiness: {http: {port: 80, path: /}, timeout: 120s}}\n";
  }
  LoadResult r = load_with_artifacts(text);
  EXPECT_TRUE(r.ok()) << dump(r).substr(0, 2000);
  EXPECT_EQ(r.set.vms.size(), 5000u);
}

// A document without metadata (or without kind, or spec) is an ordinary
// mistake: reported like any other, never an exception out of load_texts.
TEST(Documents, MissingMetadataIsADiagnosticNotAnException) {
  LoadResult r;
  ASSERT_NO_THROW(r = load_with_artifacts(
                      "apiVersion: banger.dev/v1\nkind: VM\nspec: {kernel: k, image: img}\n"));
  Diagnostic d = only(r, "metadata");
  EXPECT_EQ(d.mark.file, "m.yaml");
  EXPECT_EQ(d.mark.line, 1);
  EXPECT_NE(d.message.find("is required"), std::string::npos) << d.format();
}

TEST(Documents, MissingMetadataInAnyKindDoesNotThrow) {
  for (const char* text :
       {"kind: VM\n", "apiVersion: banger.dev/v1\n", "spec: {}\n", "a: b\n", "kind: Network\nspec: {}\n",
        "apiVersion: banger.dev/v1\nkind: PortForward\nspec: {vm: x, hostPort: 1, guestPort: 2}\n"}) {
    EXPECT_NO_THROW(load(text)) << text;
  }
}

TEST(Documents, MissingSpec) {
  LoadResult r = load("apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: a}\n");
  EXPECT_NE(only(r, "spec").message.find("is required"), std::string::npos) << dump(r);
}

TEST(Documents, ReadinessRules) {
  LoadResult both = load_with_artifacts(vm("  readiness:\n    tcp: 22\n    http: {port: 80}\n"));
  EXPECT_NE(only(both, "spec.readiness.http").message.find("both set"), std::string::npos)
      << dump(both);
  LoadResult none = load_with_artifacts(vm("  readiness:\n    timeout: 10s\n"));
  EXPECT_NE(only(none, "spec.readiness.tcp").message.find("exactly one of tcp or http"),
            std::string::npos)
      << dump(none);
  LoadResult path = load_with_artifacts(vm("  readiness:\n    http: {port: 80, path: healthz}\n"));
  EXPECT_NE(only(path, "spec.readiness.http.path").message.find("does not start with /"),
            std::string::npos)
      << dump(path);
  LoadResult port = load_with_artifacts(vm("  readiness:\n    tcp: 70000\n"));
  EXPECT_NE(only(port, "spec.readiness.tcp").message.find("out of range"), std::string::npos)
      << dump(port);
  LoadResult noport = load_with_artifacts(vm("  readiness:\n    http: {path: /x}\n"));
  only(noport, "spec.readiness.http.port");
}

TEST(Documents, PortForwardRanges) {
  LoadResult r = load_with_artifacts(vm("") +
                                     "---\napiVersion: banger.dev/v1\nkind: PortForward\n"
                                     "metadata: {name: f}\nspec: {vm: web, hostPort: 0, guestPort: "
                                     "65536, protocol: sctp, hostAddress: localhost}\n");
  EXPECT_NE(only(r, "spec.hostPort").message.find("out of range"), std::string::npos) << dump(r);
  EXPECT_NE(only(r, "spec.guestPort").message.find("out of range"), std::string::npos);
  EXPECT_NE(only(r, "spec.protocol").message.find("one of: tcp, udp"), std::string::npos);
  EXPECT_NE(only(r, "spec.hostAddress").message.find("not a valid IPv4 address"),
            std::string::npos);
  EXPECT_EQ(r.diags.size(), 4u) << dump(r);
}

TEST(Documents, VcpuRange) {
  for (const char* t : {"0", "33", "-1", "1.0", "0x21", "99999999999999999999"}) {
    LoadResult r = load_with_artifacts(vm(std::string("  vcpus: ") + t + "\n"));
    only(r, "spec.vcpus");
  }
  for (const char* t : {"1", "32", "0x10", "0o7"}) {
    LoadResult r = load_with_artifacts(vm(std::string("  vcpus: ") + t + "\n"));
    EXPECT_TRUE(r.ok()) << t << "\n" << dump(r);
  }
}

// ------------------------------------------------------- every error at once

TEST(AllAtOnce, FiveMistakesFiveDiagnostics) {
  LoadResult r = load_with_artifacts(vm("  vcpus: 0\n  memory: 1Gb\n  state: paused\n"
                                        "  restartPolicy: sometimes\n  diskStrategy: fast\n"));
  EXPECT_EQ(r.diags.size(), 5u) << dump(r);
  for (const char* f : {"spec.vcpus", "spec.memory", "spec.state", "spec.restartPolicy",
                        "spec.diskStrategy"}) {
    only(r, f);
  }
  // And they come out in the order of the file.
  std::vector<Diagnostic> sorted = r.diags.sorted();
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_LT(sorted[i - 1].mark.line, sorted[i].mark.line);
}

TEST(AllAtOnce, ResourceWithErrorsStillTakesPartInCrossChecks) {
  // web has a bad vcpus, yet the PortForward that names it finds it.
  LoadResult r = load_with_artifacts(vm("  vcpus: 0\n") +
                                     "---\napiVersion: banger.dev/v1\nkind: PortForward\n"
                                     "metadata: {name: f}\nspec: {vm: web, hostPort: 80, guestPort: 80}\n");
  EXPECT_EQ(r.diags.size(), 1u) << dump(r);
  only(r, "spec.vcpus");
}

TEST(AllAtOnce, MistakesAcrossDocumentsAndFiles) {
  LoadResult r = load_texts(
      {SourceText{"a.yaml", "/m", vm("  vcpus: 0\n", "one") + "---\n" + vm("  state: on\n", "two")},
       SourceText{"b.yaml", "/m", "kind: VM\napiVersion: banger.dev/v1\nmetadata: {name: x}\n"
                                  "spec: {kernel: k, image: img, memory: lots}\n"},
       SourceText{"c.yaml", "/m", "{broken"},
       SourceText{"artifacts.yaml", "/m", kArtifacts}});
  EXPECT_EQ(r.diags.size(), 4u) << dump(r);
  std::vector<Diagnostic> sorted = r.diags.sorted();
  ASSERT_EQ(sorted.size(), 4u);
  EXPECT_EQ(sorted[0].mark.file, "a.yaml");
  EXPECT_EQ(sorted[1].mark.file, "a.yaml");
  EXPECT_EQ(sorted[2].mark.file, "b.yaml");
  EXPECT_EQ(sorted[3].mark.file, "c.yaml");
}

}  // namespace
}  // namespace banger
