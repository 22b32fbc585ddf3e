// `oci:` sources in the pure core: what the decoder keeps, what a spec shows
// (the digest, which a VM's imageSource includes), and how records pin
// digests when no registry is asked (diff --against, a registry outage).
#include <gtest/gtest.h>

#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/oci_resolve.h"

namespace banger {
namespace {

using test::desired_from;

// The host as a successful apply of `d` leaves it, its NAT rules included.
ObservedState converged(const DesiredState& d) {
  ObservedState o = test::converged(d);
  o.nat = NatDriver::expected(target_nat(d, o, {}));
  return o;
}

const std::string kOci = R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: lab}
spec: {subnet: 10.9.0.0/24}
---
apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec: {oci: "127.0.0.1:5000/kernels/debian:6.1", insecure: true}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: i}
spec: {oci: "alpine:3.20", size: 256Mi, credentialsFile: creds/config.json}
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: web}
spec: {kernel: k, image: i, network: lab, ip: 10.9.0.10, runtime: firecracker}
)";

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kDk = "sha256:" + std::string(64, 'a');

// The desired state with these digests, as resolve_oci_digests leaves it.
DesiredState with_digests(const std::string& image, const std::string& kernel) {
  DesiredState d = desired_from(kOci);
  d.set.images[0].source.oci.digest = image;
  d.set.kernels[0].source.oci.digest = kernel;
  return make_desired(std::move(d.set));
}

const std::string* field(const DesiredState& d, Kind k, const std::string& name, const std::string& f) {
  return d.find({k, name})->get(f);
}

TEST(OciSource, TheReferenceIsReadAsDockerDoesAndItsOptionsAreShown) {
  DesiredState d = desired_from(kOci);
  const Image& i = d.set.images[0];
  EXPECT_EQ(i.source.oci.ref.str(), "docker.io/library/alpine:3.20");
  EXPECT_EQ(i.source.oci.platform.value, "linux/amd64");
  EXPECT_EQ(i.source.oci.size.value, 256ull << 20);
  EXPECT_EQ(i.source.oci.resolved_credentials, "/m/creds/config.json") << "relative to the manifest's folder";
  EXPECT_EQ(*field(d, Kind::Image, "i", "source"), "oci:docker.io/library/alpine:3.20");
  EXPECT_EQ(*field(d, Kind::Image, "i", "digest"), "unresolved");
  EXPECT_EQ(*field(d, Kind::Image, "i", "size"), "256Mi");
  EXPECT_EQ(*field(d, Kind::Kernel, "k", "insecure"), "true");
  EXPECT_EQ(field(d, Kind::Kernel, "k", "size"), nullptr) << "a Kernel has no size";
  // A path Image shows none of them: its records keep their values.
  DesiredState fleet = desired_from(test::kFleet);
  for (const char* f : {"digest", "platform", "size", "insecure", "credentialsFile"}) {
    EXPECT_EQ(field(fleet, Kind::Image, "i", f), nullptr) << f;
  }
}

TEST(OciSource, AMovedTagUpdatesTheImageAndReplacesTheVmsDiskAKernelRestartsIt) {
  DesiredState before = with_digests(kD1, kDk);
  ObservedState o = converged(before);
  EXPECT_TRUE(compute_diff(before, o, {}).changes.empty());
  Diff diff = compute_diff(with_digests(kD2, kDk), o, {});
  const Change* img = diff.find({Kind::Image, "i"});
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->type, ChangeType::Update);
  ASSERT_EQ(img->fields.size(), 1u);
  EXPECT_EQ(img->fields[0].field, "digest");
  EXPECT_EQ(img->fields[0].before, kD1);
  EXPECT_EQ(img->fields[0].after, kD2);
  const Change* vm = diff.find({Kind::VM, "web"});
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Replace);
  EXPECT_TRUE(vm->data_loss);
  EXPECT_TRUE(vm->refused()) << "a new disk needs --replace";

  diff = compute_diff(with_digests(kD1, "sha256:" + std::string(64, 'b')), o, {});
  vm = diff.find({Kind::VM, "web"});
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->type, ChangeType::Update);
  EXPECT_TRUE(vm->restart);
}

TEST(OciSource, RecordsPinTheDigestsOfTheSameReferenceAndPlatformOnly) {
  ObservedState o = converged(with_digests(kD1, kDk));
  DesiredState pinned = with_oci_digests(desired_from(kOci), o.applied, /*online=*/false, nullptr);
  EXPECT_EQ(pinned.set.images[0].source.oci.digest, kD1);
  EXPECT_EQ(pinned.set.kernels[0].source.oci.digest, kDk);
  EXPECT_TRUE(compute_diff(pinned, o, {}).changes.empty()) << "diff --against an export: no registry, no change";

  // Another tag, or another platform, is another image: nothing pinned.
  std::string other = kOci;
  other.replace(other.find("alpine:3.20"), 11, "alpine:3.21");
  DesiredState moved = with_oci_digests(desired_from(other), o.applied, false, nullptr);
  EXPECT_EQ(moved.set.images[0].source.oci.digest, "");
  EXPECT_EQ(*field(moved, Kind::Image, "i", "digest"), "unresolved");
  std::string arm = kOci;
  arm.replace(arm.find("size: 256Mi"), 11, "size: 256Mi, platform: linux/arm64");
  EXPECT_EQ(with_oci_digests(desired_from(arm), o.applied, false, nullptr).set.images[0].source.oci.digest, "");
}

}  // namespace
}  // namespace banger
