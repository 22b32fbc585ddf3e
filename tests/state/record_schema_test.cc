// Each record defines its columns once (state/records/): the SQL derived from
// that definition, and the check that every table of a migrated database
// matches its record, so a field added to a struct cannot miss the table.
#include "state/record_schema.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "state/record_sql.h"
#include "state/sqlite_stmt.h"
#include "state/store.h"
#include "state/temp_dir.h"
#include "unit/field_count.h"

namespace banger {
namespace {

using state_test::TempDir;

using test::field_count;

template <class R>
void expect_every_field_a_column(const R&) {
  EXPECT_EQ(field_count<R>(), column_count<R>) << R::kTable << ": a field has no column(...) entry";
}

// A field without its column(...) entry would be neither stored nor exported.
TEST(RecordSchema, EveryFieldOfEveryRecordIsAColumn) {
  std::apply([](const auto&... r) { (expect_every_field_a_column(r), ...); }, StoredRecords{});
}

// A connection of its own to a store's file, for what the Store hides.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
              SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const char* sql) { sqlite::exec(db_, sql); }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

TEST(RecordSchema, AFreshDatabaseMatchesEveryRecord) {
  TempDir t;
  Store s(t.state_dir());
  EXPECT_EQ(s.schema_drift(), std::vector<std::string>{});
}

// The migration path too: a schema-4 database (before vm_runtime.accel) is
// migrated to tables that match the records, and keeps its rows.
TEST(RecordSchema, ADatabaseMigratedFromAnOlderSchemaMatchesEveryRecord) {
  TempDir t;
  {
    Store s(t.state_dir());
    s.put_runtime(VmRuntime{"web", 42, 7, "/usr/bin/firecracker", "/s", "/l", "firecracker", 99, "kvm"});
  }
  {
    RawDb raw(t.state_dir() + "/state.db");
    raw.exec("ALTER TABLE vm_runtime DROP COLUMN accel");
    raw.exec("PRAGMA user_version = 4");
  }
  Store s(t.state_dir());
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
  EXPECT_EQ(s.schema_drift(), std::vector<std::string>{});
  auto rt = s.runtime("web");
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->pid, 42);
  EXPECT_EQ(rt->started_at, 99);
  EXPECT_EQ(rt->accel, "");
}

// What a developer adding VmRecord::extra but no migration would get.
struct VmRecordPlus : VmRecord {
  std::string extra;
  static constexpr auto columns() {
    return std::tuple_cat(VmRecord::columns(), std::tuple{column("extra", "extra", &VmRecordPlus::extra)});
  }
};

TEST(RecordSchema, AColumnTheTableLacksIsReported) {
  TempDir t;
  { Store s(t.state_dir()); }
  RawDb raw(t.state_dir() + "/state.db");
  EXPECT_EQ(sqlite::table_drift<VmRecord>(raw.get()), std::vector<std::string>{});
  EXPECT_EQ(sqlite::table_drift<VmRecordPlus>(raw.get()),
            std::vector<std::string>{"table vms has no column extra (the record has it: add a migration)"});
}

struct Probe {
  int64_t id = 0;
  std::string name;
  uint64_t ticks = 0;
  int64_t size = 0;

  static constexpr const char* kTable = "probes";
  static constexpr auto columns() {
    return std::tuple{column("id", "id", &Probe::id, {.auto_id = true}), column("name", "name", &Probe::name),
                      column("ticks", "ticks", &Probe::ticks), column("size", "size", &Probe::size)};
  }
};

TEST(RecordSchema, TypeMismatchesAndUnknownColumnsAreReported) {
  RawDb raw(":memory:");
  EXPECT_EQ(sqlite::table_drift<Probe>(raw.get()), std::vector<std::string>{"table probes is missing"});
  raw.exec("CREATE TABLE probes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, ticks TEXT, old TEXT)");
  EXPECT_EQ(sqlite::table_drift<Probe>(raw.get()),
            (std::vector<std::string>{"table probes column ticks is TEXT, the record's is INTEGER",
                                      "table probes has no column size (the record has it: add a migration)",
                                      "table probes has column old that the record does not define"}));
}

TEST(RecordSchema, StatementsNameEveryColumnOnce) {
  EXPECT_EQ(sqlite::column_list<Probe>(), "id, name, ticks, size");
  EXPECT_EQ(sqlite::column_list<Probe>(false), "name, ticks, size");
  EXPECT_EQ(sqlite::select_sql<Probe>("WHERE name = ?1"), "SELECT id, name, ticks, size FROM probes WHERE name = ?1");
  EXPECT_EQ(sqlite::select_sql<VmRecord>(""), "SELECT name, network, ip, mac, tap, disk_path FROM vms");
}

TEST(RecordSchema, RowsRoundTripThroughTheGenericStatements) {
  RawDb raw(":memory:");
  raw.exec(
      "CREATE TABLE probes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
      "ticks INTEGER NOT NULL, size INTEGER NOT NULL)");
  sqlite3* db = raw.get();
  // insert leaves the auto id to SQLite; unsigned values survive the int64 column.
  sqlite::insert(db, Probe{0, "a", 18446744073709551000ull, -5});
  sqlite::insert(db, Probe{0, "b", 1, 2});
  EXPECT_EQ(sqlite3_last_insert_rowid(db), 2);
  auto all = sqlite::select_all<Probe>(db, "ORDER BY id");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, 1);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[0].ticks, 18446744073709551000ull);
  EXPECT_EQ(all[0].size, -5);
  EXPECT_THROW(sqlite::insert(db, Probe{0, "a", 0, 0}), std::exception);  // a plain INSERT, not a replace
  // upsert writes every column, the id included: the row with that key is replaced.
  sqlite::upsert(db, Probe{1, "a", 3, 4});
  auto a = sqlite::select_one<Probe>(db, "WHERE name = ?1", std::string("a"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ticks, 3u);
  EXPECT_EQ(a->size, 4);
  EXPECT_FALSE(sqlite::select_one<Probe>(db, "WHERE name = ?1 AND size = ?2", "a", int64_t{5}));
  sqlite::delete_where<Probe>(db, "id = ?1", int64_t{1});
  all = sqlite::select_all<Probe>(db, "");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "b");
}

}  // namespace
}  // namespace banger
