// Store: opening the database, transactions, and the plain record tables.
// IP allocation lives in ip_allocator.cc, the schema in migrations.cc.
#include "state/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>
#include <utility>

#include "common/host_error.h"
#include "common/profile.h"
#include "state/record_sql.h"
#include "common/reader_group.h"
#include "state/sqlite_stmt.h"
#include "state/state_dir.h"

namespace banger {

using sqlite::Stmt;
using sqlite::delete_where;
using sqlite::insert;
using sqlite::select_all;
using sqlite::select_one;
using sqlite::upsert;

namespace {

// Long enough to ride out another banger's short transaction (WAL lets
// readers through; only writers wait), short enough to report a stuck one.
constexpr int kBusyTimeoutMs = 10000;

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

namespace {

// PRAGMA journal_mode = WAL, and the mode it answers. Switching a new
// database takes an exclusive lock that SQLite's busy handler does not wait
// for, so two runs opening a fresh state dir at once (a watcher and its
// metrics scrape, an apply and a get) wait here as long as for any lock.
std::string wal_mode(sqlite3* db) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    std::string mode;
    if (rc == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return mode;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > end) {
      sqlite::fail(db, rc, "running \"PRAGMA journal_mode = WAL\"");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Store::Store(const std::string& state_dir, Access access) {
  if (access == Access::ReadOnly) {
    open_read_only(state_dir);
    return;
  }
  ensure_state_dir(state_dir);
  const std::string path = state_dir + "/state.db";
  wal_path_ = path + "-wal";
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  try {
    if (rc != SQLITE_OK) sqlite::fail(db_, rc, "opening");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // WAL: readers (banger get, diff) never block an apply, and a commit is
    // one append. The pragma answers with the mode actually in effect.
    if (wal_mode(db_) != "wal")
      throw HostError("state database " + path +
                      ": the filesystem does not support WAL mode (needs shared memory "
                      "and locks); put the state dir on a local filesystem");
    // NORMAL in WAL mode: a commit survives a crash of banger, and at worst
    // the last commits are lost on power failure, never corrupted. Commits
    // that record what banger is about to make (owned objects, journal
    // entries) are synced (durable_commit): after a power cut, no object
    // exists that its record does not.
    sqlite::exec(db_, "PRAGMA synchronous = NORMAL");
    sqlite::exec(db_, "PRAGMA foreign_keys = ON");
    // Readers without root open the database read-only, and SQLite can do
    // that only while the -wal and -shm files exist: they are kept when the
    // last connection closes instead of deleted.
    int persist = 1;
    sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    migrate();
    // SQLite gives a new -wal and -shm the database file's owner and mode;
    // files from before the group existed are brought in line here.
    share_with_readers({path, path + "-wal", path + "-shm"}, 0640);
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

void Store::open_read_only(const std::string& state_dir) {
  const std::string path = state_dir + "/state.db";
  auto no_access = [&](int err) {
    return HostError(errno_message("reading banger's state " + path, err) +
                         "; reading without root needs membership in the group " + kReaderGroup +
                         " (sudo adduser $USER " + kReaderGroup + ", then log in again), anything else needs sudo",
                     code_of_errno(err));
  };
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) throw no_access(errno);
  if (exists && ::access(path.c_str(), R_OK) != 0) throw no_access(errno);
  // Nothing applied on this host yet: an empty database, as a fresh state
  // dir would have, without making one.
  const std::string name = exists ? path : ":memory:";
  const int flags = (exists ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  try {
    if (rc != SQLITE_OK) sqlite::fail(db_, rc, "opening");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    if (!exists) {
      migrate();
      return;
    }
    int version = 0;
    try {
      version = schema_version();
    } catch (const HostError& e) {
      // A database whose -wal/-shm were removed (or a banger older than
      // reader access last closed it) cannot be opened read-only.
      throw HostError(std::string(e.what()) + "; run any banger command as root once (sudo banger get) "
                      "so that the database can be read without root");
    }
    if (version != kSchemaVersion)
      throw HostError("state database " + path + " is at schema " + std::to_string(version) +
                      " and this banger reads schema " + std::to_string(kSchemaVersion) +
                      " without root; run any banger command as root once (sudo banger get) to bring it up to date");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  sqlite3_close_v2(db_);
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void Store::transaction(const std::function<void()>& fn, Sync sync) {
  uint64_t durable_seq = 0;
  {
    std::lock_guard lock(mu_);
    const bool outer = tx_depth_ == 0;
    if (outer && sync == Sync::Full) {
      synced_ = true;
      if (wal_fd_ < 0) wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
      // No -wal file to sync (not made yet, or unreadable): SQLite syncs
      // this commit itself. The level is set before BEGIN: SQLite does not
      // change it inside one.
      if (wal_fd_ < 0) {
        sqlite::exec(db_, "PRAGMA synchronous = FULL");
        full_pragma_ = true;
      }
    }
    // The outer call takes the write lock up front (IMMEDIATE), so a
    // read-then-write inside fn never fails half way with SQLITE_BUSY.
    // Nested calls are savepoints of the outer transaction: they commit
    // with it, and a nested failure that the caller catches undoes only its
    // own part.
    sqlite::exec(db_, outer ? "BEGIN IMMEDIATE" : "SAVEPOINT nested");
    ++tx_depth_;
    try {
      fn();
    } catch (...) {
      --tx_depth_;
      if (outer) restore_sync();
      // sqlite may already have rolled back by itself (e.g. disk full); the
      // original exception is what the caller needs, so errors here are
      // dropped.
      if (!sqlite3_get_autocommit(db_))
        sqlite3_exec(db_, outer ? "ROLLBACK" : "ROLLBACK TO nested; RELEASE nested", nullptr, nullptr,
                     nullptr);
      throw;
    }
    --tx_depth_;
    if (!outer) {
      sqlite::exec(db_, "RELEASE nested");
      return;
    }
    try {
      profile::Scope p(full_pragma_ ? "store.commit.durable" : "store.commit");
      sqlite::exec(db_, "COMMIT");
    } catch (...) {
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      restore_sync();
      throw;
    }
    if (synced_) {
      ++durable_commits_;
      if (!full_pragma_) durable_seq = ++commit_seq_;
    }
    restore_sync();
  }
  if (durable_seq) sync_wal_through(durable_seq);
}

void Store::sync_wal_through(uint64_t seq) {
  profile::Scope p("store.sync");
  std::unique_lock lock(sync_mu_);
  while (synced_seq_ < seq) {
    if (syncing_) {
      sync_cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    // Every commit counted so far has written its frames: this fsync makes
    // them all durable. (Not read under mu_: a thread holding mu_ may be
    // waiting here for sync_mu_.)
    const uint64_t covers = commit_seq_.load();
    lock.unlock();
    const int rc = ::fdatasync(wal_fd_);
    const int err = errno;
    ++wal_syncs_;
    lock.lock();
    syncing_ = false;
    sync_cv_.notify_all();
    if (rc != 0) throw HostError::from_errno("syncing the state database's WAL " + wal_path_, err);
    synced_seq_ = std::max(synced_seq_, covers);
  }
}

void Store::restore_sync() {
  if (!synced_) return;
  synced_ = false;
  if (!full_pragma_) return;
  full_pragma_ = false;
  sqlite3_exec(db_, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
}

void Store::durable_write(const std::function<void()>& fn) {
  // Inside a transaction the level cannot change (SQLite refuses): the
  // outer one must have been opened synced.
  if (tx_depth_ > 0 && !synced_) {
    throw HostError("ownership recorded inside a transaction that is not synced (this is a bug in banger)");
  }
  transaction(fn, Sync::Full);
}

// --- resources ---------------------------------------------------------------

std::vector<ResourceRecord> Store::resources() {
  std::lock_guard lock(mu_);
  return select_all<ResourceRecord>(db_, "ORDER BY kind, name");
}

std::optional<ResourceRecord> Store::resource(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mu_);
  return select_one<ResourceRecord>(db_, "WHERE kind = ?1 AND name = ?2", kind, name);
}

void Store::put_resource(ResourceRecord r) {
  transaction([&] {
    // The generation counts spec changes, so it is derived here from the
    // stored hash rather than trusted from the caller.
    auto old = resource(r.kind, r.name);
    if (!old)
      r.generation = 1;
    else
      r.generation = old->spec_hash == r.spec_hash ? old->generation : old->generation + 1;
    if (r.applied_at == 0) r.applied_at = now();
    upsert(db_, r);
  });
}

void Store::delete_resource(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mu_);
  delete_where<ResourceRecord>(db_, "kind = ?1 AND name = ?2", kind, name);
}

// --- vms ---------------------------------------------------------------------

std::vector<VmRecord> Store::vms() {
  std::lock_guard lock(mu_);
  return select_all<VmRecord>(db_, "ORDER BY name");
}

std::optional<VmRecord> Store::vm(const std::string& name) {
  std::lock_guard lock(mu_);
  return select_one<VmRecord>(db_, "WHERE name = ?1", name);
}

void Store::put_vm(const VmRecord& v) {
  std::lock_guard lock(mu_);
  upsert(db_, v);
}

void Store::delete_vm(const std::string& name) {
  std::lock_guard lock(mu_);
  delete_where<VmRecord>(db_, "name = ?1", name);
}

// --- runtimes ----------------------------------------------------------------

std::vector<VmRuntime> Store::runtimes() {
  std::lock_guard lock(mu_);
  return select_all<VmRuntime>(db_, "ORDER BY name");
}

std::optional<VmRuntime> Store::runtime(const std::string& name) {
  std::lock_guard lock(mu_);
  return select_one<VmRuntime>(db_, "WHERE name = ?1", name);
}

void Store::put_runtime(const VmRuntime& r) {
  std::lock_guard lock(mu_);
  upsert(db_, r);
}

void Store::delete_runtime(const std::string& name) {
  std::lock_guard lock(mu_);
  delete_where<VmRuntime>(db_, "name = ?1", name);
}

// --- owned objects -----------------------------------------------------------

void Store::record_owned(const OwnedObject& o) {
  durable_write([&] { upsert(db_, o); });
}

void Store::forget_owned(const std::string& type, const std::string& id) {
  std::lock_guard lock(mu_);
  delete_where<OwnedObject>(db_, "type = ?1 AND id = ?2", type, id);
}

std::vector<OwnedObject> Store::owned(const std::string& type) {
  std::lock_guard lock(mu_);
  // One statement for both cases: an empty type matches every row.
  return select_all<OwnedObject>(db_, "WHERE ?1 = '' OR type = ?1 ORDER BY type, id", type);
}

// --- journal -----------------------------------------------------------------

int64_t Store::journal_begin(const std::string& action, const std::string& type,
                             const std::string& object_id, const std::string& owner) {
  // Not synced: the entry tells a later run what a killed one was doing,
  // and it survives that crash at NORMAL. After a power cut the process it
  // names is gone with the boot, and every object it makes already has an
  // owned record, synced before it (record_owned). One fsync per host change
  // was most of an apply's time (5 of them per VM, 1.2 ms each).
  std::lock_guard lock(mu_);
  insert(db_, JournalEntry{0, action, type, object_id, owner, now()});
  // Read under the same lock as the insert: no other thread's row in between.
  return sqlite3_last_insert_rowid(db_);
}

void Store::journal_end(int64_t id) {
  std::lock_guard lock(mu_);
  delete_where<JournalEntry>(db_, "id = ?1", id);
}

void Store::journal_end_owner(const std::string& owner) {
  std::lock_guard lock(mu_);
  delete_where<JournalEntry>(db_, "owner = ?1", owner);
}

std::vector<JournalEntry> Store::pending_journal() {
  std::lock_guard lock(mu_);
  return select_all<JournalEntry>(db_, "ORDER BY id");
}

}  // namespace banger
