// diskSize and diskStrategy against the Image file's size, as the loader
// found it: errors name the file, line, resource and field.
#include <gtest/gtest.h>

#include "resources/manifest_loader.h"
#include "resources/validate.h"

namespace banger {
namespace {

const char* kBase = R"(apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec: {path: /k/vmlinux}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: i}
spec: {path: /i/root.ext4}
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: web}
spec:
  kernel: k
  image: i
)";

std::vector<std::string> errors(const std::string& vm_extra, std::optional<uint64_t> image_size,
                                bool not_a_file = false) {
  LoadResult r = load_texts({SourceText{"vms.yaml", "/m", std::string(kBase) + vm_extra}});
  EXPECT_TRUE(r.ok()) << r.diags.sorted().front().format();
  r.set.images[0].source.known_size = image_size;
  r.set.images[0].source.not_a_file = not_a_file;
  Diagnostics d;
  validate_disks(r.set, d);
  std::vector<std::string> out;
  for (const auto& e : d.sorted()) out.push_back(e.format());
  return out;
}

TEST(ValidateDisks, DiskSizeBelowTheImageIsAnError) {
  auto e = errors("  diskSize: 512Mi\n", 1 * GiB);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("vms.yaml:17:13: VM/web: spec.diskSize: 512Mi is smaller than Image/i (1Gi, /i/root.ext4)"),
            std::string::npos)
      << e[0];
}

TEST(ValidateDisks, SnapshotLargerThanTheImageIsAnErrorAutoIsNot) {
  auto e = errors("  diskSize: 2Gi\n  diskStrategy: snapshot\n", 1 * GiB);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("spec.diskSize: 2Gi is larger than Image/i"), std::string::npos) << e[0];
  EXPECT_NE(e[0].find("device-mapper snapshot is exactly as large as its image"), std::string::npos) << e[0];
  EXPECT_TRUE(errors("  diskSize: 2Gi\n", 1 * GiB).empty());
  EXPECT_TRUE(errors("  diskSize: 1Gi\n  diskStrategy: snapshot\n", 1 * GiB).empty());
  EXPECT_TRUE(errors("  diskStrategy: snapshot\n", 1 * GiB).empty());
}

TEST(ValidateDisks, UnknownImageSizeIsCheckedAtApply) {
  EXPECT_TRUE(errors("  diskSize: 1Mi\n", std::nullopt).empty());
}

TEST(ValidateDisks, ImageThatIsNotAFileIsAnError) {
  auto e = errors("", std::nullopt, true);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("vms.yaml:9:"), std::string::npos) << e[0];
  EXPECT_NE(e[0].find("Image/i: spec.path: \"/i/root.ext4\" is not a regular file"), std::string::npos) << e[0];
}

}  // namespace
}  // namespace banger
