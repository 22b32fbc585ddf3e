// Store: the artifact tables (schema version 3). artifact_checks caches the
// sha256 of `path` artifacts by (size, mtime); artifacts lists what was
// downloaded into the content-addressed store.
#include <sqlite3.h>

#include "state/sqlite_stmt.h"
#include "state/store.h"

namespace banger {

using sqlite::Stmt;

std::optional<ArtifactCheck> Store::artifact_check(const std::string& path) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT path, size, mtime_ns, sha256, checked_at FROM artifact_checks WHERE path = ?");
  st.bind(1, path);
  if (!st.step()) return std::nullopt;
  return ArtifactCheck{st.text(0), st.int64(1), st.int64(2), st.text(3), st.int64(4)};
}

void Store::put_artifact_check(const ArtifactCheck& c) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO artifact_checks (path, size, mtime_ns, sha256, checked_at) "
          "VALUES (?, ?, ?, ?, ?)");
  st.bind(1, c.path).bind(2, c.size).bind(3, c.mtime_ns).bind(4, c.sha256).bind(5, c.checked_at).run();
}

std::optional<ArtifactRecord> Store::artifact(const std::string& sha256) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT sha256, url, size, fetched_at FROM artifacts WHERE sha256 = ?");
  st.bind(1, sha256);
  if (!st.step()) return std::nullopt;
  return ArtifactRecord{st.text(0), st.text(1), st.int64(2), st.int64(3)};
}

std::vector<ArtifactRecord> Store::artifacts() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT sha256, url, size, fetched_at FROM artifacts ORDER BY sha256");
  std::vector<ArtifactRecord> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.int64(2), st.int64(3)});
  return out;
}

void Store::put_artifact(const ArtifactRecord& a) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO artifacts (sha256, url, size, fetched_at) VALUES (?, ?, ?, ?)");
  st.bind(1, a.sha256).bind(2, a.url).bind(3, a.size).bind(4, a.fetched_at).run();
}

void Store::delete_artifact(const std::string& sha256) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM artifacts WHERE sha256 = ?");
  st.bind(1, sha256).run();
}

}  // namespace banger
