#include "reconciler/artifact_gc.h"

#include "reconciler/applied_spec.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/host_error.h"

#include "drivers/artifact_store.h"
#include "drivers/devmapper.h"
#include "drivers/loop.h"
#include "reconciler/disk_manager.h"
#include "reconciler/spec.h"

namespace banger {

std::set<std::string> artifacts_in_use(const std::vector<ResourceRecord>& applied) {
  std::set<std::string> used;
  for (const ResourceRecord& r : applied) {
    // Every hash the spec names counts, path artifacts' too: a hash keeps its
    // file whoever names it, and a `path` never has one in the store anyway.
    std::vector<std::string> hashes;
    if (r.kind == "Kernel") {
      Kernel k = applied_kernel(r);
      hashes = {k.source.sha256.value, k.initrd ? k.initrd->sha256.value : ""};
    } else if (r.kind == "Image") {
      hashes = {applied_image(r).source.sha256.value};
    }
    for (const std::string& h : hashes) {
      if (!h.empty()) used.insert(h);
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
  // Disk leftovers, in the order they must go: dm devices, the loops under
  // them (base loops of images no VM uses any more), then VM folders.
  ObservedState o;
  for (auto& v : store.vms()) o.vms.emplace(v.name, v);
  for (auto& d : store.disk_records()) o.disks.emplace(d.vm, d);
  o.disk_host = DiskManager(store, state_dir).observe();
  DiskOrphans orphans = find_disk_orphans(o);
  for (const std::string& dm : orphans.dm) out.push_back({"device-mapper device", dm, 0, "", ""});
  for (const ObservedLoop& l : orphans.loops)
    out.push_back({"loop device", l.device, 0, "", l.backing_file});
  for (const std::string& dir : orphans.dirs) {
    uint64_t size = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code fec;
      if (it->is_regular_file(fec)) size += it->file_size(fec);
    }
    out.push_back({"VM folder", dir, size, "", ""});
  }
  return out;
}

void remove_garbage(Store& store, const std::vector<GcItem>& items) {
  ArtifactStore artifacts("", {});
  for (const GcItem& i : items) {
    if (i.kind == "device-mapper device") {
      DeviceMapper().remove(i.path);
      store.forget_owned("dm", i.path);
      continue;
    }
    if (i.kind == "loop device") {
      LoopDriver().detach(i.path);
      continue;
    }
    if (i.kind == "VM folder") {
      std::error_code ec;
      std::filesystem::remove_all(i.path, ec);
      if (ec) throw HostError("removing " + i.path + ": " + ec.message());
      continue;
    }
    artifacts.remove_file(i.path);
    if (!i.sha256.empty()) store.delete_artifact(i.sha256);
  }
}

}  // namespace banger
