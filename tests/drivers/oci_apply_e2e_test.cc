// Images and kernels from a registry end to end: the real banger binary,
// the strict fake Firecracker and a real registry (docker-registry, filled
// by skopeo) on 127.0.0.1 in this process's private network namespace.
// A tag resolves to a digest at apply, which is recorded, shown and pinned
// in state export; a tag that moved is a change that replaces the disk;
// gc takes what no resource uses; bad references fail before anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "host_e2e.h"
#include "netns.h"
#include "oci_layers.h"
#include "oci_registry_fixture.h"

namespace fs = std::filesystem;
using banger::test::Blob;
using banger::test::Entry;
using banger::test::kRegistry;
using banger::test::OciLayout;

namespace {

class OciApply : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    if (std::string tool = banger::test::LocalRegistry::missing_tool(); !tool.empty()) {
      GTEST_SKIP() << tool << " is not installed";
    }
    banger::test::bring_up_loopback();
    registry_ = std::make_unique<banger::test::LocalRegistry>(root());
    registry_->start();
    layout_ = std::make_unique<OciLayout>(root() + "/layout");
    kernel_ = layout_->image({{{"boot/", AE_IFDIR, "", 0755},
                               {"boot/vmlinux-6.1", AE_IFREG, std::string(4096, 'k')},
                               {"boot/vmlinux", AE_IFLNK, "vmlinux-6.1", 0777},
                               {"boot/initrd.img-6.1", AE_IFREG, "initrd"}}});
    layout_->tag("kernel", kernel_);
    registry_->push(*layout_, "kernel", "kernels/test:6.1");
    v1_ = layout_->image({base(), {{"etc/version", AE_IFREG, "1\n"}}});
    layout_->tag("v1", v1_);
    registry_->push(*layout_, "v1", "rootfs:stable");
  }
  void TearDown() override {
    HostE2E::TearDown();  // deletes the VM while the registry still answers
    registry_.reset();
  }
  std::vector<Entry> base() {
    return {{"etc/", AE_IFDIR, "", 0755},
            {"etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\n"},
            {"bin/", AE_IFDIR, "", 0755},
            {"bin/busybox", AE_IFREG, std::string(64 << 10, 'B'), 0755}};
  }
  std::string doc(const std::string& kind, const std::string& name, const std::string& spec) {
    return "---\napiVersion: banger.dev/v1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec: " + spec + "\n";
  }
  std::string manifests(const std::string& image_ref = "127.0.0.1:5000/rootfs:stable") {
    return doc("Network", "oci", "{subnet: 10.79.0.0/24}") +
           doc("Kernel", "k", "{oci: \"127.0.0.1:5000/kernels/test:6.1\", insecure: true}") +
           doc("Image", "img", "{oci: \"" + image_ref + "\", insecure: true}") +
           doc("VM", "web", "{kernel: k, image: img, network: oci, runtime: firecracker, diskStrategy: copy}");
  }
  void write(const std::string& text) { dir_->write("m/all.yaml", text); }
  std::string state() const { return root() + "/state"; }
  nlohmann::json boot_source(const std::string& vm) { return banger::test::boot_source_in(root(), vm); }
  std::string hex(const Blob& b) const { return b.digest.substr(7); }

  std::unique_ptr<banger::test::LocalRegistry> registry_;
  std::unique_ptr<OciLayout> layout_;
  Blob kernel_, v1_;
};

TEST_F(OciApply, ATagIsPulledRecordedPinnedAndAMovedTagReplacesTheDisk) {
  write(manifests());
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("+ Image/img"), std::string::npos) << d.out;
  EXPECT_FALSE(fs::exists(state() + "/images/oci")) << "diff pulls nothing";

  auto a = banger({"apply", "-f", manifest_dir()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("pulled"), std::string::npos) << a.out;
  const std::string boot = state() + "/images/oci/" + hex(kernel_) + ".boot";
  EXPECT_EQ(boot_source("web")["kernel_image_path"], boot + "/kernel");
  EXPECT_EQ(boot_source("web")["initrd_path"], boot + "/initrd");
  EXPECT_TRUE(fs::exists(state() + "/images/oci/" + hex(v1_) + ".ext4"));

  // The digest is recorded and shown.
  auto g = banger({"get", "images", "-o", "wide"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("oci:127.0.0.1:5000/rootfs:stable"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find(v1_.digest), std::string::npos) << g.out;
  auto imgs = banger({"images"});
  ASSERT_EQ(imgs.exit_code, 0) << imgs.err;
  EXPECT_NE(imgs.out.find("127.0.0.1:5000/rootfs:stable"), std::string::npos) << imgs.out;
  EXPECT_NE(imgs.out.find("Image/img"), std::string::npos) << imgs.out;
  EXPECT_NE(imgs.out.find("Kernel/k"), std::string::npos) << imgs.out;

  // Nothing to do again: the cache is hit, nothing is pulled.
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 0) << a.out << a.err;

  auto e = banger({"state", "export", "--file", root() + "/export.json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;

  // The tag moves: the plan replaces the VM's disk, which needs --replace.
  Blob v2 = layout_->image({base(), {{"etc/version", AE_IFREG, "2\n"}}});
  layout_->tag("v2", v2);
  registry_->push(*layout_, "v2", "rootfs:stable");
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find(v2.digest), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("VM/web"), std::string::npos) << d.out;
  // ...while the export still pins the old digest: the same plan anywhere.
  auto against = banger::test::run_command({BANGER_BIN, "diff", "-f", manifest_dir(), "--against", root() + "/export.json"});
  EXPECT_EQ(against.exit_code, 0) << against.out << against.err;
  a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE((a.out + a.err).find("--replace VM/web"), std::string::npos) << a.out << a.err;
  EXPECT_FALSE(fs::exists(state() + "/images/oci/" + hex(v2) + ".ext4")) << "a refused plan pulls nothing";
  a = banger({"apply", "-f", manifest_dir(), "--replace", "VM/web"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(fs::exists(state() + "/images/oci/" + hex(v2) + ".ext4"));
  g = banger({"get", "images", "-o", "wide"});
  EXPECT_NE(g.out.find(v2.digest), std::string::npos) << g.out;

  // gc removes the old image and its own layer, keeps the shared one.
  auto gc = banger({"gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.out.find("images/oci/" + hex(v1_) + " (OCI image"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("gc: 2 items removed"), std::string::npos) << "the image and its top layer\n" << gc.out;
  EXPECT_FALSE(fs::exists(state() + "/images/oci/" + hex(v1_) + ".ext4"));
  EXPECT_FALSE(fs::exists(state() + "/images/oci/" + hex(v1_) + ".json"));
  EXPECT_TRUE(fs::exists(state() + "/images/oci/" + hex(v2) + ".ext4"));
  EXPECT_TRUE(fs::exists(boot + "/kernel"));

  // The registry gone: the recorded digests stand, with a warning.
  registry_->stop();
  d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE(d.err.find("Warning: "), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("Image/img: spec.oci: "), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("using the recorded digest " + v2.digest), std::string::npos) << d.err;
}

TEST_F(OciApply, AnUnknownTagOrAnUnreachableRegistryFailsBeforeAnythingChanges) {
  write(manifests("127.0.0.1:5000/rootfs:nope"));
  auto a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE(a.err.find(manifest_dir() + "/all.yaml:"), std::string::npos) << a.err;
  EXPECT_NE(a.err.find("Image/img: spec.oci: 127.0.0.1:5000/rootfs:nope: not found in the registry"), std::string::npos)
      << a.err;
  auto g = banger({"get", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(g.out)["items"].size(), 0u) << g.out;
  EXPECT_FALSE(fs::exists(state() + "/images/oci")) << "nothing pulled";

  write(manifests("127.0.0.1:5999/rootfs:stable"));
  a = banger({"apply", "-f", manifest_dir()});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  EXPECT_NE(a.err.find("Image/img: spec.oci: 127.0.0.1:5999/rootfs:stable: cannot reach http://127.0.0.1:5999/"), std::string::npos) << a.err;
  auto d = banger({"diff", "-f", manifest_dir()});
  EXPECT_EQ(d.exit_code, 1) << d.out << d.err;
}

}  // namespace
