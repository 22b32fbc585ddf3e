// The schema, as an ordered list of forward migrations. A database records
// the last one applied in PRAGMA user_version; opening it applies the rest in
// one transaction. Never edit a released migration: append a new one.
#include <sqlite3.h>

#include <array>
#include <string>

#include "common/host_error.h"
#include "state/record_sql.h"
#include "state/sqlite_stmt.h"
#include "state/store.h"

namespace banger {

namespace {

struct Migration {
  int version;
  const char* sql;
};

constexpr std::array kMigrations{
    Migration{1, R"sql(
CREATE TABLE resources (
  kind        TEXT NOT NULL,
  name        TEXT NOT NULL,
  spec_hash   TEXT NOT NULL,
  generation  INTEGER NOT NULL,
  source_file TEXT NOT NULL,
  applied_at  INTEGER NOT NULL,
  spec_json   TEXT NOT NULL,
  PRIMARY KEY (kind, name)
);
CREATE TABLE vms (
  name      TEXT PRIMARY KEY,
  network   TEXT NOT NULL,
  ip        TEXT NOT NULL,
  mac       TEXT NOT NULL,
  tap       TEXT NOT NULL,
  disk_path TEXT NOT NULL
);
CREATE TABLE vm_runtime (
  name       TEXT PRIMARY KEY,
  pid        INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  exe        TEXT NOT NULL,
  api_socket TEXT NOT NULL,
  log_path   TEXT NOT NULL,
  hypervisor TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE TABLE ip_allocations (
  network TEXT NOT NULL,
  ip      TEXT NOT NULL,
  vm      TEXT NOT NULL,
  PRIMARY KEY (network, ip),
  UNIQUE (network, vm)
);
CREATE INDEX ip_allocations_by_vm ON ip_allocations (vm);
CREATE TABLE owned (
  type  TEXT NOT NULL,
  id    TEXT NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (type, id)
);
CREATE TABLE journal (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  action     TEXT NOT NULL,
  type       TEXT NOT NULL,
  object_id  TEXT NOT NULL,
  owner      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"},
    // Artifacts: path checks cached by (size, mtime) so an unchanged file is
    // hashed once, and the downloads kept in STATE/artifacts/sha256/.
    Migration{2, R"sql(
CREATE TABLE vm_restarts (
  name         TEXT PRIMARY KEY,
  restarts     INTEGER NOT NULL,
  consecutive  INTEGER NOT NULL,
  last_exit    TEXT NOT NULL,
  last_exit_at INTEGER NOT NULL
);
)sql"},
    Migration{3, R"sql(
CREATE TABLE artifact_checks (
  path       TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  mtime_ns   INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  checked_at INTEGER NOT NULL
);
CREATE TABLE artifacts (
  sha256     TEXT PRIMARY KEY,
  url        TEXT NOT NULL,
  size       INTEGER NOT NULL,
  fetched_at INTEGER NOT NULL
);
)sql"},
    // How each VM's disk was made: the strategy `auto` chose is kept so it
    // never changes under an existing disk. Snapshot disks name their image
    // (whose shared read-only loop device is counted by these rows) and COW.
    Migration{4, R"sql(
CREATE TABLE vm_disks (
  vm     TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  size   INTEGER NOT NULL,
  image  TEXT NOT NULL,
  cow    TEXT NOT NULL
);
CREATE INDEX vm_disks_by_image ON vm_disks (image);
)sql"},
    // QEMU's acceleration (kvm or tcg) of a running VM, for get -o wide:
    // a host's /dev/kvm can be unusable for ordinary guests (PVM).
    Migration{5, R"sql(
ALTER TABLE vm_runtime ADD COLUMN accel TEXT NOT NULL DEFAULT '';
)sql"},
};

static_assert(kMigrations.back().version == Store::kSchemaVersion,
              "kSchemaVersion must be the last migration's version");

int read_user_version(sqlite3* db) {
  sqlite::Stmt st(db, "PRAGMA user_version");
  return st.step() ? static_cast<int>(st.int64(0)) : 0;
}

// A database at version 0 that already holds tables is somebody else's (a
// --state-dir pointed at another tool's folder): banger never writes its
// tables into it.
void refuse_if_foreign(sqlite3* db) {
  sqlite::Stmt st(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  std::string names;
  int n = 0;
  while (st.step()) {
    if (n++ < 3) names += (names.empty() ? "" : ", ") + st.text(0);
  }
  if (n == 0) return;
  const char* file = sqlite3_db_filename(db, "main");
  throw HostError(std::string(file && *file ? file : "state.db") + " is not a banger database: it holds " +
                  std::to_string(n) + " table(s) (" + names + (n > 3 ? ", ..." : "") +
                  ") and no banger schema, and banger never writes into a database it did not create; "
                  "point --state-dir at banger's own folder (banger doctor checks it)");
}

void refuse_if_newer(int version) {
  if (version > Store::kSchemaVersion)
    throw HostError("state.db was written by a newer banger (schema " + std::to_string(version) +
                    ", this banger knows up to " + std::to_string(Store::kSchemaVersion) +
                    "); upgrade banger");
}

}  // namespace

int Store::schema_version() {
  std::lock_guard lock(mu_);
  return read_user_version(db_);
}

std::vector<std::string> Store::schema_drift() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  std::apply(
      [&](const auto&... record) {
        (
            [&](const auto& r) {
              for (std::string& d : sqlite::table_drift<std::decay_t<decltype(r)>>(db_))
                out.push_back(std::move(d));
            }(record),
            ...);
      },
      StoredRecords{});
  return out;
}

std::string Store::quick_check() {
  std::lock_guard lock(mu_);
  sqlite::Stmt st(db_, "PRAGMA quick_check");
  std::string out;
  while (st.step()) out += (out.empty() ? "" : "; ") + st.text(0);
  return out;
}

void Store::migrate() {
  refuse_if_newer(read_user_version(db_));
  if (read_user_version(db_) == kSchemaVersion) return;
  transaction([&] {
    // Read again under the write lock: another banger may have migrated
    // between the check above and BEGIN IMMEDIATE.
    const int current = read_user_version(db_);
    refuse_if_newer(current);
    if (current == 0) refuse_if_foreign(db_);
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      sqlite::exec(db_, m.sql);
      // PRAGMA takes no bound parameters; the number is our own constant.
      const std::string set = "PRAGMA user_version = " + std::to_string(m.version);
      sqlite::exec(db_, set.c_str());
    }
  });
}

}  // namespace banger
