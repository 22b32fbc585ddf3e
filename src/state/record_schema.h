// One definition per state record. Each record struct names its table and
// lists its columns once, in a static columns() of column(...) entries:
//
//   static constexpr const char* kTable = "vms";
//   static constexpr auto columns() {
//     return std::tuple{column("name", "name", &VmRecord::name), ...};
//   }
//
// From that list the store derives its SQL (record_sql.h: SELECT lists,
// INSERT statements, reading and binding rows), the schema check compares it
// with the table SQLite actually has (Store::schema_drift), and the state
// export writes and reads the record's JSON (reconciler/state_snapshot.cc).
// Adding a column: the field, its column(...) entry, and a migration step
// (migrations.cc) that adds it to existing databases.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>

namespace banger {

struct ColumnFlags {
  bool auto_id = false;        ///< INTEGER PRIMARY KEY AUTOINCREMENT: insert() leaves it to SQLite
  bool json_optional = false;  ///< added to the export within its schemaVersion: older files lack it
  bool json_text = false;      ///< a string holding JSON: the export carries the JSON value itself
};

/// A record's field as an SQL column (`name`) and a state export key (`key`).
template <class R, class T>
struct Column {
  using record = R;
  using type = T;
  const char* name;
  const char* key;
  T R::*member;
  ColumnFlags flags;
};

template <class R, class T>
constexpr Column<R, T> column(const char* name, const char* key, T R::*member, ColumnFlags flags = {}) {
  return {name, key, member, flags};
}

/// Calls f(column) for each column of R, in R::columns() order.
template <class R, class F>
constexpr void for_each_column(F&& f) {
  std::apply([&](const auto&... c) { (f(c), ...); }, R::columns());
}

template <class R>
inline constexpr size_t column_count = std::tuple_size_v<decltype(R::columns())>;

/// The declared SQL type of a column holding T. Columns hold only these.
template <class T>
constexpr const char* sql_type() {
  if constexpr (std::is_same_v<T, std::string>) {
    return "TEXT";
  } else {
    static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>,
                  "a record column is a std::string, int64_t or uint64_t");
    return "INTEGER";
  }
}

}  // namespace banger
