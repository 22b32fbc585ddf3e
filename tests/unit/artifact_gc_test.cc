// Which downloaded artifacts the applied resources still use.
#include "reconciler/artifact_gc.h"

#include <gtest/gtest.h>

namespace banger {
namespace {

ResourceRecord rec(const std::string& kind, const std::string& name, const std::string& json) {
  ResourceRecord r;
  r.kind = kind;
  r.name = name;
  r.spec_json = json;
  return r;
}

TEST(ArtifactGc, KernelInitrdAndImageHashesAreInUse) {
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  std::vector<ResourceRecord> applied{
      rec("Kernel", "k", R"({"source":"https://x/vmlinux","sha256":")" + a + R"(","initrd":"https://x/initrd","initrdSha256":")" + b + R"(","args":"console=ttyS0"})"),
      rec("Image", "img", R"({"source":"https://x/rootfs","sha256":")" + c + R"("})"),
      rec("Image", "local", R"({"source":"/images/rootfs.ext4","sha256":""})"),
      rec("VM", "web", R"({"sha256":"not-an-artifact"})"),
  };
  EXPECT_EQ(artifacts_in_use(applied), (std::set<std::string>{a, b, c}));
}

TEST(ArtifactGc, NothingAppliedUsesNothing) { EXPECT_TRUE(artifacts_in_use({}).empty()); }

}  // namespace
}  // namespace banger
