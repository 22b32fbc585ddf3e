#include "state/sqlite_stmt.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>

#include "common/host_error.h"

namespace banger::sqlite {

namespace {

// The errors a user can act on get a hint; the rest carry sqlite's own text.
const char* hint(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process holds the database; retry when it is done";
    case SQLITE_FULL:
      return "the filesystem is full; free space and retry (the database is left as it was)";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return "check that the state dir is writable by this user (run as root or set --state-dir)";
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return "the file is not a usable banger database; banger doctor says how to start afresh (move it away)";
    default:
      return nullptr;
  }
}

}  // namespace

void fail(sqlite3* db, int rc, const std::string& what) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string msg = "state database ";
  msg += (file && *file) ? file : "state.db";
  msg += ": " + what + ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // "disk I/O error" alone hides the cause; the OS error behind it (ENOSPC
  // on a full disk, EIO, EROFS) is what the user can act on.
  const int os_errno = db ? sqlite3_system_errno(db) : 0;
  if (os_errno != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_CANTOPEN)) {
    msg += std::string(" (") + std::strerror(os_errno) + ")";
  }
  if (os_errno == ENOSPC && (rc & 0xff) == SQLITE_IOERR) rc = SQLITE_FULL;  // the same remedy
  if (const char* h = hint(rc)) msg += std::string("; ") + h;
  throw HostError(msg);
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg(db) still holds the same text for fail()
  if (rc != SQLITE_OK) fail(db, rc, std::string("running \"") + sql + "\"");
}

Stmt::Stmt(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, std::string("preparing \"") + sql + "\"");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int i, const std::string& v) {
  int rc = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_, rc, std::string("binding a parameter of \"") + sql_ + "\"");
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) fail(db_, rc, std::string("binding a parameter of \"") + sql_ + "\"");
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, std::string("running \"") + sql_ + "\"");
}

void Stmt::run() {
  while (step()) {
  }
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

}  // namespace banger::sqlite
