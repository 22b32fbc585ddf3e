// The store's SQL for a record, derived from its column list (record_schema.h):
// no statement names a record's columns by hand. `rest` is what follows
// "FROM table" (WHERE ..., ORDER BY ...), with ?1, ?2, ... bound to `params`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/record_schema.h"
#include "state/sqlite_stmt.h"

namespace banger::sqlite {

inline void bind_value(Stmt& st, int i, const std::string& v) { st.bind(i, v); }
inline void bind_value(Stmt& st, int i, const char* v) { st.bind(i, std::string(v)); }
inline void bind_value(Stmt& st, int i, int64_t v) { st.bind(i, v); }
// SQLite has no unsigned integer: stored as int64 (VmRuntime::start_time
// stays far below 2^63, so the cast is exact both ways).
inline void bind_value(Stmt& st, int i, uint64_t v) { st.bind(i, static_cast<int64_t>(v)); }

inline void read_value(const Stmt& st, int col, std::string& v) { v = st.text(col); }
inline void read_value(const Stmt& st, int col, int64_t& v) { v = st.int64(col); }
inline void read_value(const Stmt& st, int col, uint64_t& v) { v = static_cast<uint64_t>(st.int64(col)); }

template <class... A>
void bind_params(Stmt& st, const A&... params) {
  int i = 1;
  (bind_value(st, i++, params), ...);
}

/// "kind, name, spec_hash, ...": every column, or those SQLite does not assign.
template <class R>
std::string column_list(bool with_auto_id = true) {
  std::string out;
  for_each_column<R>([&](const auto& c) {
    if (c.flags.auto_id && !with_auto_id) return;
    if (!out.empty()) out += ", ";
    out += c.name;
  });
  return out;
}

/// The row the statement is on, its columns in R::columns() order.
template <class R>
R read_row(const Stmt& st) {
  R r{};
  int i = 0;
  for_each_column<R>([&](const auto& c) { read_value(st, i++, r.*c.member); });
  return r;
}

template <class R>
std::string select_sql(std::string_view rest) {
  std::string sql = "SELECT " + column_list<R>() + " FROM " + R::kTable;
  if (!rest.empty()) sql += " " + std::string(rest);
  return sql;
}

template <class R, class... A>
std::vector<R> select_all(sqlite3* db, std::string_view rest, const A&... params) {
  const std::string sql = select_sql<R>(rest);
  Stmt st(db, sql.c_str());
  bind_params(st, params...);
  std::vector<R> out;
  while (st.step()) out.push_back(read_row<R>(st));
  return out;
}

template <class R, class... A>
std::optional<R> select_one(sqlite3* db, std::string_view rest, const A&... params) {
  const std::string sql = select_sql<R>(rest);
  Stmt st(db, sql.c_str());
  bind_params(st, params...);
  if (!st.step()) return std::nullopt;
  return read_row<R>(st);
}

/// "INSERT [OR REPLACE] INTO table (cols) VALUES (?1, ...)" binding r's fields.
template <class R>
void write_row(sqlite3* db, const R& r, bool replace) {
  std::string values;
  int n = 0;
  for_each_column<R>([&](const auto& c) {
    if (c.flags.auto_id && !replace) return;
    ++n;
    values += (n > 1 ? ", ?" : "?") + std::to_string(n);
  });
  const std::string sql = std::string(replace ? "INSERT OR REPLACE INTO " : "INSERT INTO ") + R::kTable +
                          " (" + column_list<R>(replace) + ") VALUES (" + values + ")";
  Stmt st(db, sql.c_str());
  int i = 0;
  for_each_column<R>([&](const auto& c) {
    if (c.flags.auto_id && !replace) return;
    bind_value(st, ++i, r.*c.member);
  });
  st.run();
}

/// Inserts r or replaces the row with its key.
template <class R>
void upsert(sqlite3* db, const R& r) {
  write_row(db, r, true);
}

/// Inserts r (failing on a key already there); an auto_id column is left to
/// SQLite: read it with sqlite3_last_insert_rowid.
template <class R>
void insert(sqlite3* db, const R& r) {
  write_row(db, r, false);
}

template <class R, class... A>
void delete_where(sqlite3* db, std::string_view where, const A&... params) {
  const std::string sql = std::string("DELETE FROM ") + R::kTable + " WHERE " + std::string(where);
  Stmt st(db, sql.c_str());
  bind_params(st, params...);
  st.run();
}

/// Where table R::kTable differs from R's columns: a column on one side
/// only, or declared with another SQL type. Empty when they agree.
template <class R>
std::vector<std::string> table_drift(sqlite3* db) {
  const std::string table = R::kTable;
  std::map<std::string, std::string> declared;  // column -> type, as SQLite has them
  const std::string sql = "PRAGMA table_info(" + table + ")";
  Stmt st(db, sql.c_str());
  while (st.step()) declared[st.text(1)] = st.text(2);
  if (declared.empty()) return {"table " + table + " is missing"};
  std::vector<std::string> out;
  for_each_column<R>([&](const auto& c) {
    using T = typename std::decay_t<decltype(c)>::type;
    auto it = declared.find(c.name);
    if (it == declared.end()) {
      out.push_back("table " + table + " has no column " + c.name + " (the record has it: add a migration)");
      return;
    }
    if (it->second != sql_type<T>())
      out.push_back("table " + table + " column " + c.name + " is " + it->second + ", the record's is " +
                    sql_type<T>());
    declared.erase(it);
  });
  for (const auto& [name, type] : declared)
    out.push_back("table " + table + " has column " + name + " that the record does not define");
  return out;
}

}  // namespace banger::sqlite
