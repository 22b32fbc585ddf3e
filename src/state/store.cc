// Store: opening the database, transactions, and the plain record tables.
// IP allocation lives in ip_allocator.cc, the schema in migrations.cc.
#include "state/store.h"

#include <sqlite3.h>

#include <ctime>

#include "common/host_error.h"
#include "state/sqlite_stmt.h"
#include "state/state_dir.h"

namespace banger {

using sqlite::Stmt;

namespace {

// Long enough to ride out another banger's short transaction (WAL lets
// readers through; only writers wait), short enough to report a stuck one.
constexpr int kBusyTimeoutMs = 10000;

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

ResourceRecord read_resource(const Stmt& st) {
  return {st.text(0), st.text(1), st.text(2), st.int64(3), st.text(4), st.int64(5), st.text(6)};
}

VmRecord read_vm(const Stmt& st) {
  return {st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5)};
}

VmRuntime read_runtime(const Stmt& st) {
  return {st.text(0), st.int64(1), static_cast<uint64_t>(st.int64(2)),
          st.text(3), st.text(4),  st.text(5),
          st.text(6), st.int64(7), st.text(8)};
}

}  // namespace

Store::Store(const std::string& state_dir) {
  ensure_state_dir(state_dir);
  const std::string path = state_dir + "/state.db";
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  try {
    if (rc != SQLITE_OK) sqlite::fail(db_, rc, "opening");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    {
      // WAL: readers (banger get, diff) never block an apply, and a commit is
      // one append. The pragma answers with the mode actually in effect.
      Stmt st(db_, "PRAGMA journal_mode = WAL");
      if (!st.step() || st.text(0) != "wal")
        throw HostError("state database " + path +
                        ": the filesystem does not support WAL mode (needs shared memory "
                        "and locks); put the state dir on a local filesystem");
    }
    // NORMAL in WAL mode: a commit survives a crash of banger, and at worst
    // the last commits are lost on power failure, never corrupted.
    sqlite::exec(db_, "PRAGMA synchronous = NORMAL");
    sqlite::exec(db_, "PRAGMA foreign_keys = ON");
    migrate();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() { sqlite3_close_v2(db_); }

void Store::transaction(const std::function<void()>& fn) {
  std::lock_guard lock(mu_);
  // The outer call takes the write lock up front (IMMEDIATE), so a
  // read-then-write inside fn never fails half way with SQLITE_BUSY. Nested
  // calls are savepoints of the outer transaction: they commit with it, and
  // a nested failure that the caller catches undoes only its own part.
  const bool outer = tx_depth_ == 0;
  sqlite::exec(db_, outer ? "BEGIN IMMEDIATE" : "SAVEPOINT nested");
  ++tx_depth_;
  try {
    fn();
  } catch (...) {
    --tx_depth_;
    // sqlite may already have rolled back by itself (e.g. disk full); the
    // original exception is what the caller needs, so errors here are dropped.
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
    sqlite::exec(db_, "COMMIT");
  } catch (...) {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// --- resources ---------------------------------------------------------------

std::vector<ResourceRecord> Store::resources() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT kind, name, spec_hash, generation, source_file, applied_at, spec_json "
          "FROM resources ORDER BY kind, name");
  std::vector<ResourceRecord> out;
  while (st.step()) out.push_back(read_resource(st));
  return out;
}

std::optional<ResourceRecord> Store::resource(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT kind, name, spec_hash, generation, source_file, applied_at, spec_json "
          "FROM resources WHERE kind = ?1 AND name = ?2");
  st.bind(1, kind).bind(2, name);
  if (!st.step()) return std::nullopt;
  return read_resource(st);
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
    Stmt st(db_,
            "INSERT OR REPLACE INTO resources "
            "(kind, name, spec_hash, generation, source_file, applied_at, spec_json) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.bind(1, r.kind).bind(2, r.name).bind(3, r.spec_hash).bind(4, r.generation);
    st.bind(5, r.source_file).bind(6, r.applied_at).bind(7, r.spec_json);
    st.run();
  });
}

void Store::delete_resource(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM resources WHERE kind = ?1 AND name = ?2")
      .bind(1, kind)
      .bind(2, name)
      .run();
}

// --- vms ---------------------------------------------------------------------

std::vector<VmRecord> Store::vms() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, network, ip, mac, tap, disk_path FROM vms ORDER BY name");
  std::vector<VmRecord> out;
  while (st.step()) out.push_back(read_vm(st));
  return out;
}

std::optional<VmRecord> Store::vm(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, network, ip, mac, tap, disk_path FROM vms WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_vm(st);
}

void Store::put_vm(const VmRecord& v) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO vms (name, network, ip, mac, tap, disk_path) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, v.name).bind(2, v.network).bind(3, v.ip).bind(4, v.mac).bind(5, v.tap);
  st.bind(6, v.disk_path).run();
}

void Store::delete_vm(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM vms WHERE name = ?1").bind(1, name).run();
}

// --- runtimes ----------------------------------------------------------------

std::vector<VmRuntime> Store::runtimes() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT name, pid, start_time, exe, api_socket, log_path, hypervisor, started_at, accel "
          "FROM vm_runtime ORDER BY name");
  std::vector<VmRuntime> out;
  while (st.step()) out.push_back(read_runtime(st));
  return out;
}

std::optional<VmRuntime> Store::runtime(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT name, pid, start_time, exe, api_socket, log_path, hypervisor, started_at, accel "
          "FROM vm_runtime WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_runtime(st);
}

void Store::put_runtime(const VmRuntime& r) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO vm_runtime "
          "(name, pid, start_time, exe, api_socket, log_path, hypervisor, started_at, accel) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  // start_time is clock ticks since boot: far below 2^63, so the cast is exact.
  st.bind(1, r.name).bind(2, r.pid).bind(3, static_cast<int64_t>(r.start_time)).bind(4, r.exe);
  st.bind(5, r.api_socket).bind(6, r.log_path).bind(7, r.hypervisor).bind(8, r.started_at).bind(9, r.accel);
  st.run();
}

void Store::delete_runtime(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM vm_runtime WHERE name = ?1").bind(1, name).run();
}

// --- owned objects -----------------------------------------------------------

void Store::record_owned(const OwnedObject& o) {
  std::lock_guard lock(mu_);
  Stmt(db_, "INSERT OR REPLACE INTO owned (type, id, owner) VALUES (?1, ?2, ?3)")
      .bind(1, o.type)
      .bind(2, o.id)
      .bind(3, o.owner)
      .run();
}

void Store::forget_owned(const std::string& type, const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM owned WHERE type = ?1 AND id = ?2").bind(1, type).bind(2, id).run();
}

std::vector<OwnedObject> Store::owned(const std::string& type) {
  std::lock_guard lock(mu_);
  // One statement for both cases: an empty type matches every row.
  Stmt st(db_, "SELECT type, id, owner FROM owned WHERE ?1 = '' OR type = ?1 ORDER BY type, id");
  st.bind(1, type);
  std::vector<OwnedObject> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

// --- journal -----------------------------------------------------------------

int64_t Store::journal_begin(const std::string& action, const std::string& type,
                             const std::string& object_id, const std::string& owner) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO journal (action, type, object_id, owner, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5)");
  st.bind(1, action).bind(2, type).bind(3, object_id).bind(4, owner).bind(5, now()).run();
  // Read under the same lock as the insert: no other thread's row in between.
  return sqlite3_last_insert_rowid(db_);
}

void Store::journal_end(int64_t id) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM journal WHERE id = ?1").bind(1, id).run();
}

std::vector<JournalEntry> Store::pending_journal() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT id, action, type, object_id, owner, created_at FROM journal ORDER BY id");
  std::vector<JournalEntry> out;
  while (st.step())
    out.push_back({st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4), st.int64(5)});
  return out;
}

}  // namespace banger
