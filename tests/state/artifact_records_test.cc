// Store: the artifact tables of schema version 3 (path check cache, and the
// downloads kept in the content-addressed store).
#include <gtest/gtest.h>

#include "state/store.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

using state_test::TempDir;

TEST(ArtifactRecords, CheckIsStoredAndReplacedByPath) {
  TempDir t;
  Store s(t.state_dir());
  EXPECT_FALSE(s.artifact_check("/images/a.ext4"));
  s.put_artifact_check({"/images/a.ext4", 100, 1700000000123456789, std::string(64, 'a'), 1});
  s.put_artifact_check({"/images/a.ext4", 200, 1700000000999999999, std::string(64, 'b'), 2});
  auto c = s.artifact_check("/images/a.ext4");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size, 200);
  EXPECT_EQ(c->mtime_ns, 1700000000999999999);
  EXPECT_EQ(c->sha256, std::string(64, 'b'));
}

TEST(ArtifactRecords, DownloadsAreListedByHashAndDeleted) {
  TempDir t;
  Store s(t.state_dir());
  s.put_artifact({std::string(64, 'b'), "http://x/b", 20, 5});
  s.put_artifact({std::string(64, 'a'), "http://x/a", 10, 5});
  auto all = s.artifacts();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].url, "http://x/a");
  EXPECT_EQ(s.artifact(std::string(64, 'b'))->size, 20);
  s.delete_artifact(std::string(64, 'b'));
  EXPECT_FALSE(s.artifact(std::string(64, 'b')));
  EXPECT_EQ(s.artifacts().size(), 1u);
}

TEST(ArtifactRecords, SurviveReopening) {
  TempDir t;
  {
    Store s(t.state_dir());
    s.put_artifact({std::string(64, 'c'), "file:///c", 30, 7});
  }
  Store s(t.state_dir());
  EXPECT_GE(s.schema_version(), 3);
  EXPECT_EQ(s.artifact(std::string(64, 'c'))->url, "file:///c");
}

}  // namespace
}  // namespace banger
