// Store: schema and migrations, the record tables, the journal and
// transactions, on a real SQLite file in a private temp dir.
#include "state/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/host_error.h"
#include "state/temp_dir.h"

namespace banger {
namespace {

using state_test::TempDir;

// Reads a pragma with a second, independent connection: what is on disk,
// not what the Store object believes.
std::string raw_pragma(const std::string& db_path, const char* pragma) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, pragma, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

ResourceRecord res(const std::string& kind, const std::string& name, const std::string& hash) {
  ResourceRecord r;
  r.kind = kind;
  r.name = name;
  r.spec_hash = hash;
  r.source_file = "vms.yaml";
  r.spec_json = R"({"vcpus":"2"})";
  return r;
}

TEST(Store, MigratesEmptyDirToCurrentSchemaInPrivateDir) {
  TempDir t;
  {
    Store s(t.state_dir());
    EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
    EXPECT_TRUE(s.resources().empty());
    EXPECT_TRUE(s.vms().empty());
    EXPECT_TRUE(s.allocations().empty());
    EXPECT_TRUE(s.pending_journal().empty());
  }
  struct stat st {};
  ASSERT_EQ(::stat(t.state_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(raw_pragma(t.state_dir() + "/state.db", "PRAGMA user_version"),
            std::to_string(Store::kSchemaVersion));
}

TEST(Store, WalModeIsOn) {
  TempDir t;
  Store s(t.state_dir());
  EXPECT_EQ(raw_pragma(t.state_dir() + "/state.db", "PRAGMA journal_mode"), "wal");
}

// Two runs opening a fresh state dir at once (a watcher and a metrics scrape,
// an apply and a get): switching the new database to WAL takes a lock that
// SQLite's busy handler does not wait for, and neither may fail for it.
TEST(Store, TwoOpeningAFreshStateDirAtOnceBothSucceed) {
  for (int round = 0; round < 30; ++round) {
    TempDir t;
    std::atomic<int> ready{0};
    std::vector<std::string> errors(4);
    std::vector<std::thread> openers;
    for (int i = 0; i < 4; ++i) {
      openers.emplace_back([&, i] {
        ++ready;
        while (ready < 4) std::this_thread::yield();
        try {
          Store s(t.state_dir());
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& th : openers) th.join();
    for (const std::string& e : errors) ASSERT_EQ(e, "") << "round " << round;
  }
}

// What banger is about to make is recorded by a synced commit (FULL), so a
// power cut cannot leave an object without its record; other commits stay
// NORMAL (fast). A transaction is synced once, at its outer commit.
TEST(Store, RecordsOfWhatIsAboutToBeMadeAreSyncedOthersAreNot) {
  TempDir t;
  Store s(t.state_dir());
  const int64_t base = s.durable_commits();
  s.put_vm({"web", "n", "10.0.0.2", "06:00:0A:00:00:02", "bg-tap", "/d"});
  EXPECT_EQ(s.durable_commits(), base);
  s.record_owned({"tap", "bg-tap", "VM/web"});
  EXPECT_EQ(s.durable_commits(), base + 1);
  // A journal entry is not: the owned record above already survives a power
  // cut, and the process a journal entry names does not.
  int64_t id = s.journal_begin("create", "tap", "bg-tap", "VM/web");
  EXPECT_EQ(s.durable_commits(), base + 1);
  EXPECT_EQ(s.pending_journal().size(), 1u);
  s.journal_end(id);
  s.record_owned({"bridge", "bg-x", "Network/x"});
  EXPECT_EQ(s.durable_commits(), base + 2);
  s.transaction(
      [&] {
        s.record_owned({"disk", "/d", "VM/web"});
        s.record_owned({"rundir", "/r", "VM/web"});
        s.put_vm({"web", "n", "10.0.0.2", "06:00:0A:00:00:02", "bg-tap", "/d2"});
        EXPECT_EQ(s.durable_commits(), base + 2) << "synced before the transaction committed";
      },
      Store::Sync::Full);
  EXPECT_EQ(s.durable_commits(), base + 3);
  EXPECT_EQ(s.owned().size(), 4u);
  // A failed transaction syncs nothing, and the level is NORMAL again after.
  EXPECT_THROW(s.transaction([&] {
    s.put_vm({"x", "n", "10.0.0.4", "06:00:0A:00:00:04", "bg-tap3", "/d4"});
    throw std::runtime_error("boom");
  }, Store::Sync::Full),
               std::runtime_error);
  s.transaction([&] { s.put_vm({"db", "n", "10.0.0.3", "06:00:0A:00:00:03", "bg-tap2", "/d3"}); });
  EXPECT_EQ(s.durable_commits(), base + 3);
  // Ownership recorded inside a transaction that is not synced is a bug,
  // caught here rather than lost in a power cut.
  EXPECT_THROW(s.transaction([&] { s.record_owned({"tap", "bg-other", "VM/x"}); }), HostError);
  EXPECT_EQ(s.owned().size(), 4u);
}

// Durable commits of many workers share WAL syncs (group commit), and one
// made while the store is held (a worker inside locked()) neither deadlocks
// with another thread's sync nor returns before its own commit is synced.
TEST(Store, ConcurrentDurableCommitsShareSyncsAndAllLand) {
  TempDir t;
  Store s(t.state_dir());
  s.record_owned({"tap", "bg-first", "VM/first"});  // the -wal file exists from here
  const int64_t commits = s.durable_commits();
  const int64_t syncs = s.wal_syncs();
  constexpr int kThreads = 16, kEach = 20;
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&s, w] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "bg-" + std::to_string(w) + "-" + std::to_string(i);
        if (i % 2) {
          auto held = s.hold();
          s.record_owned({"tap", id, "VM/w"});
        } else {
          s.transaction([&] { s.record_owned({"disk", "/d/" + id, "VM/w"}); }, Store::Sync::Full);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(s.durable_commits(), commits + kThreads * kEach);
  EXPECT_GE(s.wal_syncs(), syncs + 1);
  EXPECT_LE(s.wal_syncs(), syncs + kThreads * kEach);
  EXPECT_EQ(s.owned().size(), 1u + kThreads * kEach);
  // Another connection sees every record.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((t.state_dir() + "/state.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM owned", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 1 + kThreads * kEach);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(Store, ReopenKeepsData) {
  TempDir t;
  {
    Store s(t.state_dir());
    s.put_resource(res("VM", "web-1", "h1"));
    s.put_vm({"web-1", "default", "172.20.0.2", "06:00:ac:14:00:02", "bg-web-1", "/d/web-1.img"});
  }
  Store s(t.state_dir());
  auto r = s.resource("VM", "web-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->spec_hash, "h1");
  EXPECT_EQ(r->spec_json, R"({"vcpus":"2"})");
  auto v = s.vm("web-1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->tap, "bg-web-1");
  EXPECT_EQ(v->disk_path, "/d/web-1.img");
}

TEST(Store, RefusesDatabaseFromNewerBanger) {
  TempDir t;
  { Store s(t.state_dir()); }
  const std::string newer = std::to_string(Store::kSchemaVersion + 98);
  raw_pragma(t.state_dir() + "/state.db", ("PRAGMA user_version = " + newer).c_str());
  try {
    Store s(t.state_dir());
    FAIL() << "opened a database with a newer schema";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("state.db was written by a newer banger (schema " + newer),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("upgrade banger"), std::string::npos) << e.what();
  }
  // Refusing must not have downgraded it.
  EXPECT_EQ(raw_pragma(t.state_dir() + "/state.db", "PRAGMA user_version"), newer);
}

TEST(Store, RefusesLooseStateDir) {
  for (mode_t mode : {0777, 0770, 0722}) {
    TempDir t;
    ASSERT_EQ(::mkdir(t.state_dir().c_str(), 0700), 0);
    ASSERT_EQ(::chmod(t.state_dir().c_str(), mode), 0);
    try {
      Store s(t.state_dir());
      FAIL() << "accepted a state dir with mode " << std::oct << mode;
    } catch (const HostError& e) {
      EXPECT_NE(std::string(e.what()).find("group- or world-writable"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("chmod 700 " + t.state_dir()), std::string::npos)
          << e.what();
    }
    EXPECT_NE(::access((t.state_dir() + "/state.db").c_str(), F_OK), 0) << "created a db anyway";
  }
}

TEST(Store, AcceptsExistingPrivateDirAndRejectsAFile) {
  TempDir t;
  ASSERT_EQ(::mkdir(t.state_dir().c_str(), 0750), 0);
  EXPECT_NO_THROW(Store s(t.state_dir()));
  const std::string file = t.path() + "/plain-file";
  std::FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_TRUE(f);
  std::fclose(f);
  EXPECT_THROW(Store s(file), HostError);
}

TEST(Store, GarbageDatabaseFileIsReportedNotCrashed) {
  TempDir t;
  ASSERT_EQ(::mkdir(t.state_dir().c_str(), 0700), 0);
  std::FILE* f = std::fopen((t.state_dir() + "/state.db").c_str(), "w");
  ASSERT_TRUE(f);
  std::fputs("this is not an sqlite database, just some bytes that are long enough......", f);
  std::fclose(f);
  try {
    Store s(t.state_dir());
    FAIL() << "opened garbage";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("state.db"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("move it away"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("banger doctor says how to start afresh"), std::string::npos) << e.what();
  }
}

// A --state-dir that points at another tool's folder: its database is
// refused, named, and left byte for byte as it was.
TEST(Store, AForeignDatabaseIsRefusedAndLeftAsItWas) {
  TempDir t;
  ASSERT_EQ(::mkdir(t.state_dir().c_str(), 0700), 0);
  const std::string db = t.state_dir() + "/state.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE invoices (id INTEGER); INSERT INTO invoices VALUES (7);", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  try {
    Store s(t.state_dir());
    FAIL() << "opened a foreign database";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find(db + " is not a banger database: it holds 1 table(s) (invoices)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("banger doctor"), std::string::npos) << e.what();
  }
  EXPECT_EQ(raw_pragma(db, "PRAGMA user_version"), "0");
  EXPECT_EQ(raw_pragma(db, "SELECT group_concat(name) FROM sqlite_master"), "invoices") << "banger wrote into it";
}

TEST(Store, ResourceCrudAndGenerationRules) {
  TempDir t;
  Store s(t.state_dir());
  EXPECT_FALSE(s.resource("VM", "a"));

  auto r = res("VM", "a", "h1");
  r.generation = 42;  // ignored: the store owns generations
  s.put_resource(r);
  EXPECT_EQ(s.resource("VM", "a")->generation, 1);

  s.put_resource(res("VM", "a", "h1"));
  EXPECT_EQ(s.resource("VM", "a")->generation, 1) << "same hash must keep the generation";

  auto changed = res("VM", "a", "h2");
  changed.source_file = "other.yaml";
  s.put_resource(changed);
  auto got = s.resource("VM", "a");
  EXPECT_EQ(got->generation, 2);
  EXPECT_EQ(got->spec_hash, "h2");
  EXPECT_EQ(got->source_file, "other.yaml");
  EXPECT_GT(got->applied_at, 0);

  s.put_resource(res("VM", "a", "h1"));
  EXPECT_EQ(s.resource("VM", "a")->generation, 3) << "going back is a change too";

  // Same name, different kind: a separate record.
  s.put_resource(res("Network", "a", "n1"));
  EXPECT_EQ(s.resource("Network", "a")->generation, 1);
  auto all = s.resources();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, "Network");
  EXPECT_EQ(all[1].kind, "VM");

  s.delete_resource("VM", "a");
  EXPECT_FALSE(s.resource("VM", "a"));
  EXPECT_TRUE(s.resource("Network", "a"));
  s.delete_resource("VM", "a");  // absent is fine
  s.put_resource(res("VM", "a", "h9"));
  EXPECT_EQ(s.resource("VM", "a")->generation, 1) << "a re-created resource starts over";
}

TEST(Store, ValuesAreBoundNotSpliced) {
  TempDir t;
  Store s(t.state_dir());
  const std::string evil = "x'); DROP TABLE resources; --";
  s.put_resource(res("VM", evil, "h"));
  ASSERT_TRUE(s.resource("VM", evil));
  EXPECT_EQ(s.resources().size(), 1u);
}

TEST(Store, VmRecordsAndRuntimesAreKeptApart) {
  TempDir t;
  Store s(t.state_dir());
  s.put_vm({"web-1", "fleet", "10.0.0.2", "06:00:0a:00:00:02", "bg-web-1", "/d/1"});
  VmRuntime rt{"web-1",
               4242,
               123456789012ULL,
               "/usr/bin/firecracker",
               "/run/banger/web-1.sock",
               "/var/log/web-1",
               "firecracker",
               1700000000};
  s.put_runtime(rt);

  auto got = s.runtime("web-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->pid, 4242);
  EXPECT_EQ(got->start_time, 123456789012ULL);
  EXPECT_EQ(got->exe, "/usr/bin/firecracker");
  EXPECT_EQ(got->hypervisor, "firecracker");
  EXPECT_EQ(got->started_at, 1700000000);

  // A stopped VM loses its runtime but keeps its durable record, and back.
  s.delete_runtime("web-1");
  EXPECT_FALSE(s.runtime("web-1"));
  ASSERT_TRUE(s.vm("web-1"));
  EXPECT_EQ(s.vm("web-1")->ip, "10.0.0.2");

  s.put_runtime(rt);
  s.delete_vm("web-1");
  EXPECT_FALSE(s.vm("web-1"));
  EXPECT_EQ(s.runtimes().size(), 1u);

  s.put_vm({"web-1", "fleet", "10.0.0.3", "m", "t", "/d/1"});
  EXPECT_EQ(s.vm("web-1")->ip, "10.0.0.3") << "put replaces";
  EXPECT_EQ(s.vms().size(), 1u);
}

TEST(Store, OwnedObjectsRoundTrip) {
  TempDir t;
  {
    Store s(t.state_dir());
    s.record_owned({"tap", "bg-web-1", "VM/web-1"});
    s.record_owned({"bridge", "bg-fleet", "Network/fleet"});
    s.record_owned({"tap", "bg-web-2", "VM/web-2"});
    s.record_owned({"tap", "bg-web-2", "VM/web-3"});  // re-recorded: new owner
  }
  Store s(t.state_dir());
  EXPECT_EQ(s.owned().size(), 3u);
  auto taps = s.owned("tap");
  ASSERT_EQ(taps.size(), 2u);
  EXPECT_EQ(taps[1].id, "bg-web-2");
  EXPECT_EQ(taps[1].owner, "VM/web-3");
  s.forget_owned("tap", "bg-web-1");
  s.forget_owned("tap", "never-there");
  EXPECT_EQ(s.owned("tap").size(), 1u);
  EXPECT_EQ(s.owned("bridge").size(), 1u);
  EXPECT_TRUE(s.owned("disk").empty());
}

TEST(Store, JournalEntryLeftByACrashIsPendingOnReopen) {
  TempDir t;
  { Store s(t.state_dir()); }
  // A real crash: the child writes the intent and dies by SIGKILL, without
  // closing the database or running any destructor.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      Store s(t.state_dir());
      int64_t done = s.journal_begin("create", "tap", "bg-done", "VM/a");
      s.journal_end(done);
      s.journal_begin("create", "tap", "bg-web-1", "VM/web-1");
    } catch (...) {
      _exit(3);
    }
    ::raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child did not get to the crash, status " << status;

  Store s(t.state_dir());
  auto pending = s.pending_journal();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].action, "create");
  EXPECT_EQ(pending[0].type, "tap");
  EXPECT_EQ(pending[0].object_id, "bg-web-1");
  EXPECT_EQ(pending[0].owner, "VM/web-1");
  EXPECT_GT(pending[0].created_at, 0);

  // Ids keep growing (AUTOINCREMENT): a finished entry's id is never reused.
  int64_t next = s.journal_begin("delete", "tap", "bg-web-1", "VM/web-1");
  EXPECT_GT(next, pending[0].id);
  s.journal_end(pending[0].id);
  s.journal_end(next);
  EXPECT_TRUE(s.pending_journal().empty());
}

TEST(Store, TransactionRollsBackAndRethrows) {
  TempDir t;
  Store s(t.state_dir());
  s.put_resource(res("VM", "keep", "h"));
  EXPECT_THROW(s.transaction([&] {
    s.put_resource(res("VM", "gone", "h"));
    s.delete_resource("VM", "keep");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(s.resource("VM", "gone"));
  EXPECT_TRUE(s.resource("VM", "keep"));
  // The store is usable afterwards (no transaction left open).
  s.transaction([&] { s.put_resource(res("VM", "after", "h")); });
  EXPECT_TRUE(s.resource("VM", "after"));
}

TEST(Store, NestedTransactionsJoinTheOuterOne) {
  TempDir t;
  Store s(t.state_dir());
  // Inner work commits only with the outer transaction...
  EXPECT_THROW(s.transaction([&] {
    s.transaction([&] { s.put_resource(res("VM", "inner", "h")); });
    throw std::runtime_error("outer fails");
  }),
               std::runtime_error);
  EXPECT_FALSE(s.resource("VM", "inner"));

  // ...and an inner failure the caller handles undoes only the inner part.
  s.transaction([&] {
    s.put_resource(res("VM", "outer", "h"));
    try {
      s.transaction([&] {
        s.put_resource(res("VM", "inner", "h"));
        throw std::runtime_error("inner fails");
      });
    } catch (const std::runtime_error&) {
    }
    s.transaction([&] { s.put_resource(res("VM", "inner2", "h")); });
  });
  EXPECT_TRUE(s.resource("VM", "outer"));
  EXPECT_FALSE(s.resource("VM", "inner"));
  EXPECT_TRUE(s.resource("VM", "inner2"));
}

TEST(Store, ThousandPutsInOneTransaction) {
  TempDir t;
  Store s(t.state_dir());
  auto start = std::chrono::steady_clock::now();
  s.transaction([&] {
    for (int i = 0; i < 1000; ++i) s.put_resource(res("VM", "vm-" + std::to_string(i), "h"));
  });
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  std::printf("[ timing   ] 1000 put_resource in one transaction: %.1f ms\n", ms.count());
  EXPECT_EQ(s.resources().size(), 1000u);
}

}  // namespace
}  // namespace banger
