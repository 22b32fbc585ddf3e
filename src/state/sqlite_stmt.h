// A thin RAII layer over the sqlite3 C API for the store's own use: prepared
// statements with bound parameters (never SQL built from values) and errors
// turned into HostError messages that name the database and what to do.
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace banger::sqlite {

/// Throws HostError "state database PATH: WHAT: sqlite's message; hint".
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what);

/// Runs constant SQL (schema, BEGIN/COMMIT, pragmas without values).
void exec(sqlite3* db, const char* sql);

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  /// Parameters are numbered from 1, as sqlite3_bind_* counts them.
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, int64_t v);
  /// true while there is a row to read.
  bool step();
  /// For statements that return no rows.
  void run();

  std::string text(int col) const;
  int64_t int64(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const char* sql_;
};

}  // namespace banger::sqlite
