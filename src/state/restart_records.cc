// Store: vm_restarts (schema version 2), what restartPolicy and its back-off
// need to survive banger runs: how often a VM was restarted and how it
// last ended.
#include <sqlite3.h>

#include "state/sqlite_stmt.h"
#include "state/store.h"

namespace banger {

using sqlite::Stmt;

std::vector<RestartRecord> Store::restart_records() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, restarts, consecutive, last_exit, last_exit_at FROM vm_restarts ORDER BY name");
  std::vector<RestartRecord> out;
  while (st.step()) out.push_back({st.text(0), st.int64(1), st.int64(2), st.text(3), st.int64(4)});
  return out;
}

void Store::put_restart_record(const RestartRecord& r) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO vm_restarts (name, restarts, consecutive, last_exit, last_exit_at) "
          "VALUES (?, ?, ?, ?, ?)");
  st.bind(1, r.name).bind(2, r.restarts).bind(3, r.consecutive).bind(4, r.last_exit).bind(5, r.last_exit_at).run();
}

void Store::delete_restart_record(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM vm_restarts WHERE name = ?").bind(1, name).run();
}

}  // namespace banger
