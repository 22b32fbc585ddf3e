#include "reconciler/disk_rules.h"

#include <cstdio>
#include <map>
#include <set>

namespace banger {

std::string disk_owner_tag(const std::string& state_dir) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds and runs
  for (unsigned char c : state_dir) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string dm_name(const std::string& vm) { return "banger-" + vm; }
std::string dm_uuid(const std::string& tag, const std::string& vm) { return "BANGER-" + tag + "-" + vm; }
std::string base_loop_label(const std::string& tag) { return "banger:" + tag + ":base"; }
std::string cow_loop_label(const std::string& tag) { return "banger:" + tag + ":cow"; }

std::vector<DiskMethod> disk_candidates(DiskStrategy strategy, const DiskHost& host, uint64_t image_size,
                                        uint64_t disk_size, std::string* why) {
  const bool fits_snapshot = disk_size == 0 || disk_size == image_size;
  switch (strategy) {
    case DiskStrategy::Reflink: return {DiskMethod::Reflink};
    case DiskStrategy::Copy: return {DiskMethod::Copy};
    case DiskStrategy::Snapshot:
      if (!host.devmapper) {
        if (why) *why = "diskStrategy snapshot needs device-mapper, which this host lacks (" + host.devmapper_why +
                        "); use auto, reflink or copy";
        return {};
      }
      if (!fits_snapshot) {
        if (why) *why = "diskStrategy snapshot: diskSize " + format_size(disk_size) + " differs from the image's " +
                        format_size(image_size) + ", and a snapshot is exactly as large as its image";
        return {};
      }
      return {DiskMethod::Snapshot};
    case DiskStrategy::Auto: break;
  }
  std::vector<DiskMethod> out;
  if (host.reflink) out.push_back(DiskMethod::Reflink);
  if (host.devmapper && fits_snapshot) out.push_back(DiskMethod::Snapshot);
  out.push_back(DiskMethod::Copy);
  return out;
}

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Of several loops on one file that is still in use, one is kept: the one a
// dm device sits on, else the first. The rest are orphans.
void keep_one_per_file(const std::vector<const ObservedLoop*>& loops, std::vector<ObservedLoop>& orphans) {
  std::map<std::string, std::vector<const ObservedLoop*>> by_file;
  for (const ObservedLoop* l : loops) by_file[l->backing_file].push_back(l);
  for (auto& [file, ls] : by_file) {
    const ObservedLoop* keep = ls.front();
    for (const ObservedLoop* l : ls) {
      if (l->held && !keep->held) keep = l;
    }
    for (const ObservedLoop* l : ls) {
      if (l != keep && !l->held) orphans.push_back(*l);
    }
  }
}

}  // namespace

DiskOrphans find_disk_orphans(const ObservedState& o) {
  DiskOrphans out;
  const DiskHost& h = o.disk_host;
  if (h.tag.empty()) return out;
  std::set<std::string> images, cows;
  for (const auto& [vm, d] : o.disks) {
    if (d.method != "snapshot") continue;
    images.insert(d.image);
    cows.insert(d.cow);
  }
  const std::string uuid_prefix = "BANGER-" + h.tag + "-";
  for (const ObservedDm& dm : h.dm) {
    if (!starts_with(dm.uuid, uuid_prefix)) continue;  // another state dir's, or not banger's
    const std::string vm = dm.uuid.substr(uuid_prefix.size());
    auto d = o.disks.find(vm);
    if (d == o.disks.end() || d->second.method != "snapshot" || dm.name != dm_name(vm)) out.dm.push_back(dm.name);
  }
  std::vector<const ObservedLoop*> kept_base, kept_cow;
  for (const ObservedLoop& l : h.loops) {
    if (l.label == base_loop_label(h.tag)) {
      if (images.count(l.backing_file)) kept_base.push_back(&l);
      else out.loops.push_back(l);
    } else if (l.label == cow_loop_label(h.tag)) {
      if (cows.count(l.backing_file)) kept_cow.push_back(&l);
      else out.loops.push_back(l);
    }
  }
  keep_one_per_file(kept_base, out.loops);
  keep_one_per_file(kept_cow, out.loops);
  for (const std::string& name : h.vm_dirs) {
    if (!o.vms.count(name) && !o.disks.count(name)) out.dirs.push_back(h.vms_dir + "/" + name);
  }
  return out;
}

std::vector<std::string> DiskOrphans::describe() const {
  std::vector<std::string> out;
  for (const std::string& d : dm) out.push_back("device-mapper device " + d + " (no VM record)");
  for (const ObservedLoop& l : loops) out.push_back("loop device " + l.device + " on " + l.backing_file);
  for (const std::string& d : dirs) out.push_back("folder " + d + " (no VM record)");
  return out;
}

}  // namespace banger
