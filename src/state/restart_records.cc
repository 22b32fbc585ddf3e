// Store: vm_restarts (schema version 2), what restartPolicy and its back-off
// need to survive banger runs: how often a VM was restarted and how it
// last ended.
#include <sqlite3.h>

#include "state/record_sql.h"
#include "state/store.h"

namespace banger {

using namespace sqlite;

std::vector<RestartRecord> Store::restart_records() {
  std::lock_guard lock(mu_);
  return select_all<RestartRecord>(db_, "ORDER BY name");
}

void Store::put_restart_record(const RestartRecord& r) {
  std::lock_guard lock(mu_);
  upsert(db_, r);
}

void Store::delete_restart_record(const std::string& name) {
  std::lock_guard lock(mu_);
  delete_where<RestartRecord>(db_, "name = ?1", name);
}

}  // namespace banger
