// PositionIndex answers as the scan it replaces, also after the vector
// changed behind it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resources/model.h"
#include "resources/position_index.h"

namespace banger {
namespace {

struct Item {
  std::string key;
  int value;
};

const auto key_of = [](const Item& i) { return i.key; };

const Item* find(const PositionIndex& idx, const std::vector<Item>& v, const std::string& k) {
  return idx.find(v, k, [&](const Item& i) { return i.key == k; });
}

TEST(PositionIndex, FindsWhatAScanFindsFirstOfEqualKeysWins) {
  std::vector<Item> v{{"a", 1}, {"b", 2}, {"a", 3}};
  PositionIndex idx;
  idx.build(v, key_of);
  ASSERT_NE(find(idx, v, "a"), nullptr);
  EXPECT_EQ(find(idx, v, "a")->value, 1);
  EXPECT_EQ(find(idx, v, "b")->value, 2);
  EXPECT_EQ(find(idx, v, "c"), nullptr);
}

TEST(PositionIndex, StaysRightAfterTheVectorChanged) {
  std::vector<Item> v{{"a", 1}, {"b", 2}};
  PositionIndex idx;
  idx.build(v, key_of);
  v.push_back({"c", 3});                       // added after the build: a miss scans
  EXPECT_EQ(find(idx, v, "c")->value, 3);
  v.erase(v.begin());                          // positions moved: a hit is checked, then scanned
  EXPECT_EQ(find(idx, v, "b")->value, 2);
  EXPECT_EQ(find(idx, v, "a"), nullptr);
  v.clear();
  EXPECT_EQ(find(idx, v, "b"), nullptr);
}

TEST(PositionIndex, UnbuiltIndexScans) {
  std::vector<Item> v{{"x", 7}};
  PositionIndex idx;
  EXPECT_EQ(find(idx, v, "x")->value, 7);
}

TEST(PositionIndex, ManifestSetCopiesKeepAWorkingIndex) {
  ManifestSet set;
  for (int i = 0; i < 50; ++i) {
    VM vm;
    vm.metadata.name = "vm-" + std::to_string(i);
    set.vms.push_back(vm);
  }
  set.build_index();
  ManifestSet copy = set;
  ASSERT_NE(copy.find_vm("vm-42"), nullptr);
  EXPECT_EQ(copy.find_vm("vm-42"), &copy.vms[42]);  // the copy's element, not the original's
  EXPECT_EQ(copy.find_vm("vm-50"), nullptr);
}

}  // namespace
}  // namespace banger
