// GitSource::recover_tree: after a kill between write_tree's two renames
// (tree -> tree.old, tree.new -> tree), the last tree is put back, so a
// restarted watcher keeps serving it while the remote is away.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "drivers/git_source.h"

namespace banger {
namespace {

namespace fs = std::filesystem;

TEST(GitTreeRecover, PutsTheOldTreeBackOnlyWhenTheTreeIsMissing) {
  const fs::path dir = fs::temp_directory_path() / ("banger-tree-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tree.old");
  std::ofstream(dir / "tree.old" / "vms.yaml") << "kind: VM\n";
  fs::create_directories(dir / "tree.new");  // the half-written next one
  const std::string tree = (dir / "tree").string();
  EXPECT_TRUE(GitSource::recover_tree(tree));
  EXPECT_TRUE(fs::exists(dir / "tree" / "vms.yaml"));
  EXPECT_FALSE(fs::exists(dir / "tree.old"));
  // A tree in place: nothing to do, and a stale .old is not moved over it.
  fs::create_directories(dir / "tree.old");
  EXPECT_FALSE(GitSource::recover_tree(tree));
  EXPECT_TRUE(fs::exists(dir / "tree" / "vms.yaml"));
  // Neither: nothing.
  fs::remove_all(dir);
  EXPECT_FALSE(GitSource::recover_tree(tree));
  EXPECT_FALSE(fs::exists(dir / "tree"));
}

}  // namespace
}  // namespace banger
