#include "reconciler/artifact_gc.h"

#include "reconciler/applied_spec.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/host_error.h"

#include "drivers/artifact_store.h"
#include "drivers/devmapper.h"
#include "drivers/loop.h"
#include "drivers/oci_pull.h"
#include "reconciler/disk_manager.h"
#include "reconciler/spec.h"

namespace banger {

std::set<std::string> artifacts_in_use(const std::vector<ResourceRecord>& applied) {
  std::set<std::string> used;
  for (const ResourceRecord& r : applied) {
    // Every hash the spec names counts, path artifacts' too: a hash keeps its
    // file whoever names it, and a `path` never has one in the store anyway.
    // An `oci:` source names its pulled manifest: the image made from it,
    // and (with_oci_layers) its layer blobs.
    std::vector<std::string> hashes;
    auto oci = [](const ArtifactSource& s) { return s.oci.digest.size() > 7 ? s.oci.digest.substr(7) : ""; };
    if (r.kind == "Kernel") {
      Kernel k = applied_kernel(r);
      hashes = {k.source.sha256.value, k.initrd ? k.initrd->sha256.value : "", oci(k.source)};
    } else if (r.kind == "Image") {
      Image i = applied_image(r);
      hashes = {i.source.sha256.value, oci(i.source)};
    }
    for (const std::string& h : hashes) {
      if (!h.empty()) used.insert(h);
    }
  }
  return used;
}

namespace {

std::set<std::string> with_layers_of(std::set<std::string> hashes, const std::vector<OciCached>& cache) {
  for (const OciCached& c : cache) {
    if (!hashes.count(c.manifest_digest.substr(7))) continue;
    for (const std::string& l : c.layers) hashes.insert(l.substr(7));
  }
  return hashes;
}

}  // namespace

std::set<std::string> with_oci_layers(std::set<std::string> hashes, const std::string& state_dir) {
  return with_layers_of(std::move(hashes), list_oci_cache(state_dir));
}

std::vector<GcItem> collect_garbage(Store& store, const std::string& state_dir) {
  ArtifactStore artifacts(state_dir, {});
  std::set<std::string> used = artifacts_in_use(store.resources());
  std::vector<GcItem> out;
  // Pulled images: kept while an applied Kernel or Image names their
  // manifest, or a snapshot disk still sits on the file (a VM not replaced
  // since its tag moved); else they go, with the layers only they used.
  std::set<std::string> disk_images;
  for (const DiskRecord& d : store.disk_records()) {
    if (d.method == "snapshot") disk_images.insert(d.image);
  }
  const std::vector<OciCached> cache = list_oci_cache(state_dir);  // one scan of the folder serves both uses
  for (const OciCached& c : cache) {
    const std::string hex = c.manifest_digest.substr(7);
    bool held = std::any_of(c.files.begin(), c.files.end(), [&](const std::string& f) { return disk_images.count(f); });
    if (held) used.insert(hex);
    if (used.count(hex)) continue;
    out.push_back({"OCI image", state_dir + "/images/oci/" + hex, c.bytes, hex, c.ref});
  }
  used = with_layers_of(std::move(used), cache);
  std::error_code tec;
  for (const auto& e : std::filesystem::directory_iterator(state_dir + "/images/oci/tmp", tec)) {
    out.push_back({"partial OCI image", e.path().string(), 0, "", ""});
  }
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

namespace {

// STATE/images/oci/<hex>: its images, .boot folder and .json (the .json
// last, so that a cut leaves it listed); or a staging leftover as it is.
void remove_oci_files(const std::string& prefix) {
  namespace fs = std::filesystem;
  const fs::path p(prefix);
  std::error_code ec;
  if (p.parent_path().filename() == "tmp") {
    fs::remove_all(p, ec);
    if (ec) throw HostError("removing " + prefix + ": " + ec.message());
    return;
  }
  const std::string hex = p.filename().string();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(p.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(hex, 0) == 0 && name != hex + ".json") files.push_back(e.path());
  }
  files.push_back(p.parent_path() / (hex + ".json"));
  for (const fs::path& f : files) {
    fs::remove_all(f, ec);
    if (ec) throw HostError("removing " + f.string() + ": " + ec.message());
  }
}

}  // namespace

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
    if (i.kind == "OCI image" || i.kind == "partial OCI image") {
      remove_oci_files(i.path);
      continue;
    }
    artifacts.remove_file(i.path);
    if (!i.sha256.empty()) store.delete_artifact(i.sha256);
  }
}

}  // namespace banger
