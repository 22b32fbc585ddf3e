// `banger watch DIR` prunes only what was applied from DIR: the source path
// form the store records, the component-wise "within" test, and the diff's
// prune scope.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "drivers/nat.h"
#include "reconciler/diff.h"
#include "reconciler/fixtures.h"
#include "reconciler/nat_target.h"
#include "reconciler/source_path.h"

namespace fs = std::filesystem;

namespace banger {
namespace {

using test::converged;
using test::desired_from;
using test::kFleet;

TEST(PathWithinTest, ComparesWholeComponents) {
  struct Case {
    const char* path;
    const char* dir;
    bool within;
  };
  const Case cases[] = {
      {"/a/b/vm.yaml", "/a/b", true},
      {"/a/b/c/vm.yaml", "/a/b", true},
      {"/a/b", "/a/b", true},
      {"/a/bc/vm.yaml", "/a/b", false},
      {"/a/b.yaml", "/a/b", false},
      {"/a/vm.yaml", "/a/b", false},
      {"/a/b/vm.yaml", "/a/b/", true},
      {"/a/b/vm.yaml", "/", true},
      {"vm.yaml", "/a/b", false},
      {"<stdin>", "/a/b", false},
      {"", "/a/b", false},
      {"/a/b/vm.yaml", "", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.path) + " within " + c.dir);
    EXPECT_EQ(path_within(c.path, c.dir), c.within);
  }
}

class SourcePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "banger-srcpath-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = fs::canonical(tmpl).string();
    fs::create_directories(root_ + "/real/vms");
    fs::create_directory_symlink(root_ + "/real", root_ + "/link");
    std::ofstream(root_ + "/real/vms/web.yaml") << "x";
    std::ofstream(root_ + "/elsewhere.yaml") << "x";
    fs::create_symlink(root_ + "/elsewhere.yaml", root_ + "/real/vms/linked.yaml");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(SourcePathTest, RelativePathsBecomeAbsoluteAndNormal) {
  std::string cwd = fs::current_path().string();
  fs::current_path(root_ + "/real");
  std::string got = normalize_source_path("./vms/../vms/web.yaml");
  fs::current_path(cwd);
  EXPECT_EQ(got, root_ + "/real/vms/web.yaml");
}

TEST_F(SourcePathTest, FolderSymlinksResolveSoTheWatchersDirMatches) {
  std::string file = normalize_source_path(root_ + "/link/vms/web.yaml");
  EXPECT_EQ(file, root_ + "/real/vms/web.yaml");
  std::string dir = normalize_dir_path(root_ + "/link/");
  EXPECT_EQ(dir, root_ + "/real");
  EXPECT_TRUE(path_within(file, dir));
}

TEST_F(SourcePathTest, ASymlinkedManifestStaysWhereItIsLinked) {
  EXPECT_EQ(normalize_source_path(root_ + "/link/vms/linked.yaml"), root_ + "/real/vms/linked.yaml");
}

TEST_F(SourcePathTest, StdinAndMissingPaths) {
  EXPECT_EQ(normalize_source_path("<stdin>"), "<stdin>");
  EXPECT_EQ(normalize_source_path(""), "");
  EXPECT_EQ(normalize_source_path(root_ + "/gone/x/../vm.yaml"), root_ + "/gone/vm.yaml");
}

// Network, Kernel and Image from the watched folder, the VM from a
// subfolder of it, the forward applied by hand from somewhere else.
ObservedState mixed_sources(const DesiredState& full) {
  ObservedState o = converged(full);
  o.nat = NatDriver::expected(target_nat(full, o, {}));
  for (auto& [key, rec] : o.applied) {
    rec.source_file = key.kind == Kind::PortForward ? "/home/me/forward.yaml"
                      : key.kind == Kind::VM        ? "/srv/gitops/vms/web.yaml"
                                                    : "/srv/gitops/base.yaml";
  }
  return o;
}

std::vector<std::string> deletes(const Diff& d) {
  std::vector<std::string> out;
  for (const Change& c : d.changes) {
    if (c.type == ChangeType::Delete) out.push_back(c.key.str());
  }
  return out;
}

DiffOptions scoped(const char* dir) {
  DiffOptions o;
  o.prune = true;
  if (dir) o.prune_under = dir;
  return o;
}

TEST(PruneScopeTest, DeletesOnlyWhatCameFromTheFolder) {
  DesiredState full = desired_from(kFleet);
  ObservedState o = mixed_sources(full);
  DesiredState none = make_desired(ManifestSet{});
  EXPECT_EQ(deletes(compute_diff(none, o, scoped("/srv/gitops"))),
            (std::vector<std::string>{"VM/web", "Image/i", "Kernel/k", "Network/lab"}));
  EXPECT_EQ(deletes(compute_diff(none, o, scoped("/srv/gitops/vms"))), (std::vector<std::string>{"VM/web"}));
  EXPECT_TRUE(deletes(compute_diff(none, o, scoped("/srv/git"))).empty()) << "/srv/git is not /srv/gitops";
  EXPECT_EQ(deletes(compute_diff(none, o, scoped(nullptr))).size(), 5u) << "apply --prune: no scope";
}

TEST(PruneScopeTest, AForwardAppliedElsewhereKeepsItsRules) {
  DesiredState full = desired_from(kFleet);
  ObservedState o = mixed_sources(full);
  std::string without_forward = kFleet;
  without_forward.erase(without_forward.find("---\napiVersion: banger.dev/v1\nkind: PortForward"));
  Diff d = compute_diff(desired_from(without_forward), o, scoped("/srv/gitops"));
  EXPECT_TRUE(d.empty()) << "neither deleted nor its nft rules dropped: "
                         << (d.changes.empty() ? "nat drift" : d.changes[0].key.str());
  Diff unscoped = compute_diff(desired_from(without_forward), o, scoped(nullptr));
  EXPECT_EQ(deletes(unscoped), (std::vector<std::string>{"PortForward/web-http"}));
}

TEST(PruneScopeTest, ScopeIsIgnoredWithoutPrune) {
  DesiredState full = desired_from(kFleet);
  ObservedState o = mixed_sources(full);
  DiffOptions opts;
  opts.prune_under = "/srv/gitops";
  EXPECT_TRUE(deletes(compute_diff(make_desired(ManifestSet{}), o, opts)).empty());
}

}  // namespace
}  // namespace banger
