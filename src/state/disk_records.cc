// Store: vm_disks (schema version 4). One row per VM disk; the snapshot rows
// of an image are the reference count of that image's base loop device, so
// the count can never drift from the disks that use it.
#include <sqlite3.h>

#include "state/sqlite_stmt.h"
#include "state/store.h"

namespace banger {

using sqlite::Stmt;

namespace {
DiskRecord read_disk(const Stmt& st) { return {st.text(0), st.text(1), st.int64(2), st.text(3), st.text(4)}; }
}  // namespace

std::vector<DiskRecord> Store::disk_records() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT vm, method, size, image, cow FROM vm_disks ORDER BY vm");
  std::vector<DiskRecord> out;
  while (st.step()) out.push_back(read_disk(st));
  return out;
}

std::optional<DiskRecord> Store::disk_record(const std::string& vm) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT vm, method, size, image, cow FROM vm_disks WHERE vm = ?");
  st.bind(1, vm);
  if (!st.step()) return std::nullopt;
  return read_disk(st);
}

void Store::put_disk_record(const DiskRecord& d) {
  std::lock_guard lock(mu_);
  Stmt(db_, "INSERT OR REPLACE INTO vm_disks (vm, method, size, image, cow) VALUES (?, ?, ?, ?, ?)")
      .bind(1, d.vm)
      .bind(2, d.method)
      .bind(3, d.size)
      .bind(4, d.image)
      .bind(5, d.cow)
      .run();
}

void Store::delete_disk_record(const std::string& vm) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM vm_disks WHERE vm = ?").bind(1, vm).run();
}

int64_t Store::snapshot_users(const std::string& image) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT count(*) FROM vm_disks WHERE method = 'snapshot' AND image = ?");
  st.bind(1, image);
  return st.step() ? st.int64(0) : 0;
}

}  // namespace banger
