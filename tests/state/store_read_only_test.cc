// Store::Access::ReadOnly, what get/diff/state export open without root: a
// consistent read of what a writer committed, never a write, and an empty
// state (made by nobody) where nothing was applied.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/host_error.h"
#include "state/store.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

using state_test::TempDir;

TEST(StoreReadOnly, NoStateDirReadsAsEmptyAndMakesNothing) {
  TempDir t;
  const std::string dir = t.state_dir() + "/never-made";
  Store s(dir, Store::Access::ReadOnly);
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
  EXPECT_TRUE(s.resources().empty());
  EXPECT_TRUE(s.vms().empty());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(StoreReadOnly, ReadsWhatAWriterCommittedAlsoAfterTheWriterClosedAndNeverWrites) {
  TempDir t;
  {
    Store w(t.state_dir());
    w.put_vm({"web", "n", "10.0.0.2", "06:00:0A:00:00:02", "bg-tap", "/d"});
  }
  // The writer kept its -wal and -shm (SQLITE_FCNTL_PERSIST_WAL): without
  // them a read-only open fails for anyone who cannot create files there.
  EXPECT_TRUE(std::filesystem::exists(t.state_dir() + "/state.db-wal"));
  EXPECT_TRUE(std::filesystem::exists(t.state_dir() + "/state.db-shm"));
  Store r(t.state_dir(), Store::Access::ReadOnly);
  ASSERT_EQ(r.vms().size(), 1u);
  EXPECT_EQ(r.vms()[0].name, "web");
  {
    // A write while the reader is open lands for the reader's next read.
    Store w(t.state_dir());
    w.put_vm({"db", "n", "10.0.0.3", "06:00:0A:00:00:03", "bg-tap2", "/d2"});
    EXPECT_EQ(r.vms().size(), 2u);
  }
  EXPECT_THROW(r.put_vm({"x", "n", "10.0.0.4", "06:00:0A:00:00:04", "bg-tap3", "/d3"}), HostError);
  EXPECT_EQ(Store(t.state_dir()).vms().size(), 2u);
}

TEST(StoreReadOnly, AnotherSchemaIsRefusedWithWhatToRun) {
  TempDir t;
  { Store w(t.state_dir()); }
  {
    // As an older banger left it: readers never migrate.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((t.state_dir() + "/state.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 3", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  try {
    Store r(t.state_dir(), Store::Access::ReadOnly);
    FAIL() << "opened a database at schema 3";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("schema 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("as root once"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace banger
