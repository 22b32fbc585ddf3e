// Store: vm_disks (schema version 4). One row per VM disk; the snapshot rows
// of an image are the reference count of that image's base loop device, so
// the count can never drift from the disks that use it.
#include <sqlite3.h>

#include "state/record_sql.h"
#include "state/store.h"

namespace banger {

using namespace sqlite;

std::vector<DiskRecord> Store::disk_records() {
  std::lock_guard lock(mu_);
  return select_all<DiskRecord>(db_, "ORDER BY vm");
}

std::optional<DiskRecord> Store::disk_record(const std::string& vm) {
  std::lock_guard lock(mu_);
  return select_one<DiskRecord>(db_, "WHERE vm = ?1", vm);
}

void Store::put_disk_record(const DiskRecord& d) {
  std::lock_guard lock(mu_);
  upsert(db_, d);
}

void Store::delete_disk_record(const std::string& vm) {
  std::lock_guard lock(mu_);
  delete_where<DiskRecord>(db_, "vm = ?1", vm);
}

int64_t Store::snapshot_users(const std::string& image) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT count(*) FROM vm_disks WHERE method = 'snapshot' AND image = ?");
  st.bind(1, image);
  return st.step() ? st.int64(0) : 0;
}

}  // namespace banger
