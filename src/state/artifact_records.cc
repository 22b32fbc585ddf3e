// Store: the artifact tables (schema version 3). artifact_checks caches the
// sha256 of `path` artifacts by (size, mtime); artifacts lists what was
// downloaded into the content-addressed store.
#include <sqlite3.h>

#include "state/record_sql.h"
#include "state/store.h"

namespace banger {

using namespace sqlite;

std::optional<ArtifactCheck> Store::artifact_check(const std::string& path) {
  std::lock_guard lock(mu_);
  return select_one<ArtifactCheck>(db_, "WHERE path = ?1", path);
}

void Store::put_artifact_check(const ArtifactCheck& c) {
  std::lock_guard lock(mu_);
  upsert(db_, c);
}

std::optional<ArtifactRecord> Store::artifact(const std::string& sha256) {
  std::lock_guard lock(mu_);
  return select_one<ArtifactRecord>(db_, "WHERE sha256 = ?1", sha256);
}

std::vector<ArtifactRecord> Store::artifacts() {
  std::lock_guard lock(mu_);
  return select_all<ArtifactRecord>(db_, "ORDER BY sha256");
}

void Store::put_artifact(const ArtifactRecord& a) {
  std::lock_guard lock(mu_);
  upsert(db_, a);
}

void Store::delete_artifact(const std::string& sha256) {
  std::lock_guard lock(mu_);
  delete_where<ArtifactRecord>(db_, "sha256 = ?1", sha256);
}

}  // namespace banger
