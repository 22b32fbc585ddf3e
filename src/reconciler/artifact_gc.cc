#include "reconciler/artifact_gc.h"

#include <algorithm>
#include <filesystem>

#include "drivers/artifact_store.h"
#include "reconciler/spec.h"

namespace banger {

std::set<std::string> artifacts_in_use(const std::vector<ResourceRecord>& applied) {
  std::set<std::string> used;
  for (const ResourceRecord& r : applied) {
    if (r.kind != "Kernel" && r.kind != "Image") continue;
    // Every hash the spec names counts, path artifacts' too: a hash keeps its
    // file whoever names it, and a `path` never has one in the store anyway.
    for (const SpecField& f : ResourceSpec::fields_from_json(r.spec_json)) {
      if ((f.name == "sha256" || f.name == "initrdSha256") && !f.value.empty()) used.insert(f.value);
    }
  }
  return used;
}

std::vector<GcItem> collect_garbage(Store& store, const std::string& state_dir) {
  ArtifactStore artifacts(state_dir, {});
  const std::set<std::string> used = artifacts_in_use(store.resources());
  std::vector<GcItem> out;
  for (const StoredArtifact& a : artifacts.list()) {
    if (used.count(a.sha256)) continue;
    auto rec = store.artifact(a.sha256);
    out.push_back({"artifact", a.path, a.size, a.sha256, rec ? rec->url : ""});
  }
  // With the host lock held nothing downloads, so a .part is what an
  // interrupted apply left: gc gives up resuming it.
  for (const std::string& p : artifacts.partials()) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(p, ec);
    out.push_back({"partial download", p, ec ? 0 : size, "", ""});
  }
  std::sort(out.begin(), out.end(), [](const GcItem& a, const GcItem& b) { return a.path < b.path; });
  return out;
}

void remove_garbage(Store& store, const std::vector<GcItem>& items) {
  ArtifactStore artifacts("", {});
  for (const GcItem& i : items) {
    artifacts.remove_file(i.path);
    if (!i.sha256.empty()) store.delete_artifact(i.sha256);
  }
}

}  // namespace banger
