#include "reconciler/disk_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/devmapper.h"
#include "drivers/loop.h"

namespace fs = std::filesystem;

namespace banger {

namespace {

constexpr uint64_t kSector = 512;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return out;  // no VM made yet
  while (dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      out.push_back(n);
  }
  return out;
}

// A persistent snapshot keeps a little metadata next to the data it copies
// (an exception entry per chunk); a COW as large as the image plus that
// overhead can never fill up, whatever the guest writes. It stays sparse.
uint64_t cow_size_for(uint64_t image_size) { return image_size + image_size / 64 + (1 << 20); }

void make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw HostError("creating " + dir + ": " + ec.message());
  // The guest's data and keys are 0600 files, root's alone; the group
  // banger lists and stats them (reader_group.h). An existing folder may
  // be looser.
  if (::chmod(dir.c_str(), 0750) != 0) throw HostError::from_errno("chmod 0750 " + dir, errno);
}

std::string size_text(uint64_t bytes) { return format_size(bytes); }

}  // namespace

DiskManager::DiskManager(Store& store, std::string state_dir)
    : store_(store), state_dir_(std::move(state_dir)), tag_(disk_owner_tag(state_dir_)) {}

DiskHost DiskManager::observe(bool privileged) {
  DiskHost h;
  h.tag = tag_;
  h.vms_dir = state_dir_ + "/vms";
  // The reflink probe writes two files into the state dir: only root can.
  // A reader's plan then names copy where apply would reflink a new disk.
  h.reflink = privileged && DiskDriver::reflink_supported(state_dir_);
  h.devmapper = privileged ? DeviceMapper::available(&h.devmapper_why) : DeviceMapper::in_kernel(&h.devmapper_why);
  if (h.devmapper) {
    auto devices = privileged ? DeviceMapper().list("banger-") : DeviceMapper::list_from_sysfs("banger-");
    for (const DmDevice& d : devices) h.dm.push_back({d.name, d.uuid, d.deps});
  }
  const std::string mine = "banger:" + tag_ + ":";
  for (const LoopDevice& l : LoopDriver().list()) {
    if (!starts_with(l.label, mine)) continue;
    h.loops.push_back({l.device, l.majmin(), l.backing_file, l.label, !l.holders.empty()});
  }
  h.vm_dirs = subdirs(h.vms_dir);
  return h;
}

DiskResult DiskManager::ensure(const DiskRequest& req, const DiskHost& host) {
  auto rec = locked([&] { return store_.disk_record(req.vm); });
  if (rec && rec->method == "snapshot") {
    const uint64_t size = static_cast<uint64_t>(rec->size);
    if (req.size > size)
      throw HostError("diskSize " + size_text(req.size) + " is larger than its disk (" +
                      size_text(size) + "), a device-mapper snapshot of " + rec->image +
                      ", which cannot grow; recreate it with --replace " + req.owner + " (data loss)",
                      ErrorCode::Invalid);
    std::lock_guard g(snapshot_mu_);
    DiskResult out;
    out.method = DiskMethod::Snapshot;
    out.size = size;
    out.result = assemble_snapshot(*rec, req.owner);
    out.device = DeviceMapper::device_path(dm_name(req.vm));
    return out;
  }
  if (rec) {
    // A file disk: grown when diskSize grew, made again from the image only
    // when it went missing (there is no data left to keep then).
    if (req.size != 0 && req.size < static_cast<uint64_t>(rec->size))
      throw HostError("diskSize " + size_text(req.size) + " is smaller than its disk (" +
                      size_text(static_cast<uint64_t>(rec->size)) + "); a disk is never shrunk",
                      ErrorCode::Invalid);
    DiskMethod m = parse_disk_method(rec->method).value_or(DiskMethod::Copy);
    DiskSpec spec{req.image_path, disk_file(req.vm), req.size,
                  m == DiskMethod::Reflink ? DiskStrategy::Reflink : DiskStrategy::Copy};
    DiskOutcome o = journaled("ensure", "disk", spec.disk_path, req.owner, [&] { return DiskDriver().ensure(spec); });
    if (o.size != static_cast<uint64_t>(rec->size)) {
      rec->size = static_cast<int64_t>(o.size);
      locked([&] { store_.put_disk_record(*rec); });
    }
    return {o.result, m, o.size, spec.disk_path};
  }

  // A new disk. A disk made before disk records existed is adopted as it is.
  struct stat st {};
  if (::stat(disk_file(req.vm).c_str(), &st) == 0) {
    DiskRecord legacy{req.vm, "copy", static_cast<int64_t>(st.st_size), req.image_path, ""};
    locked([&] { store_.put_disk_record(legacy); });
    return ensure(req, host);
  }
  const uint64_t image_size = DiskDriver::file_size(req.image_path);
  if (req.size != 0 && req.size < image_size)
    throw HostError("diskSize " + size_text(req.size) + " is smaller than image " + req.image_path +
                    " (" + size_text(image_size) + ")", ErrorCode::Invalid);
  std::string why;
  std::vector<DiskMethod> methods = disk_candidates(req.strategy, host, image_size, req.size, &why);
  if (methods.empty()) throw HostError(why, ErrorCode::Invalid);
  for (size_t i = 0; i < methods.size(); ++i) {
    try {
      if (methods[i] == DiskMethod::Snapshot) return make_snapshot(req, image_size);
      return make_file_disk(req, methods[i], image_size);
    } catch (const ReflinkUnsupported&) {
      // auto goes on to the next method (the image is on another filesystem).
      if (i + 1 == methods.size()) throw;
    }
  }
  throw HostError("no disk method worked");  // not reached
}

DiskResult DiskManager::make_file_disk(const DiskRequest& req, DiskMethod m, uint64_t image_size) {
  const uint64_t size = req.size ? req.size : image_size;
  DiskRecord rec{req.vm, to_string(m), static_cast<int64_t>(size), req.image_path, ""};
  locked([&] { store_.put_disk_record(rec); });
  DiskSpec spec{req.image_path, disk_file(req.vm), req.size,
                m == DiskMethod::Reflink ? DiskStrategy::Reflink : DiskStrategy::Copy};
  try {
    DiskOutcome o = journaled("create", "disk", spec.disk_path, req.owner, [&] { return DiskDriver().ensure(spec); });
    return {o.result, m, o.size, spec.disk_path};
  } catch (...) {
    // Nothing was made (the driver removes its temp file): no record and no
    // empty folder either, so the next try chooses afresh.
    locked([&] { store_.delete_disk_record(req.vm); });
    ::rmdir(vm_dir(req.vm).c_str());
    throw;
  }
}

DiskResult DiskManager::make_snapshot(const DiskRequest& req, uint64_t image_size) {
  std::lock_guard g(snapshot_mu_);
  // Loop devices report their backing file's canonical path: the record
  // keeps that spelling so observe can match them.
  std::error_code ec;
  const std::string image = fs::weakly_canonical(req.image_path, ec).string();
  const std::string cow = (fs::weakly_canonical(state_dir_, ec) / "vms" / req.vm / "cow.img").string();
  DiskRecord rec{req.vm, "snapshot", static_cast<int64_t>(image_size), image.empty() ? req.image_path : image, cow};
  // Not under locked(): the transaction holds the store itself, and its
  // sync then waits with the store let go (Store::transaction).
  store_.transaction(
      [&] {
        store_.put_disk_record(rec);
        store_.record_owned({"dm", dm_name(req.vm), req.owner});
        store_.record_owned({"cow", rec.cow, req.owner});
      },
      Store::Sync::Full);
  try {
    make_dir(vm_dir(req.vm));
    journaled("create", "cow", rec.cow, req.owner, [&] {
      // A new disk starts empty: a COW file left by a crash is started over.
      UniqueFd fd(::open(rec.cow.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) throw HostError::from_errno("creating " + rec.cow, errno);
      if (::ftruncate(fd.get(), static_cast<off_t>(cow_size_for(image_size))) != 0 || ::fsync(fd.get()) != 0)
        throw HostError(errno_message("sizing " + rec.cow, errno) + "; check free space in its filesystem", code_of_errno(errno));
    });
    assemble_snapshot(rec, req.owner);
  } catch (const std::exception& e) {
    // Undo what this attempt made, so a failure leaves nothing behind. An
    // undo that fails too is said, not swallowed: what it left is recorded,
    // and the next apply or gc removes it.
    std::string undo_error;
    try {
      remove_locked(req.vm, req.owner);
    } catch (const std::exception& undo) {
      undo_error = undo.what();
    }
    if (undo_error.empty()) throw;
    const auto* host = dynamic_cast<const HostError*>(&e);
    throw HostError(std::string(e.what()) + "; undoing it also failed: " + undo_error +
                        " (what is left is recorded: the next apply or banger gc removes it)",
                    host ? host->code() : ErrorCode::Unknown);
  }
  return {OpResult::Created, DiskMethod::Snapshot, image_size, DeviceMapper::device_path(dm_name(req.vm))};
}

OpResult DiskManager::assemble_snapshot(const DiskRecord& rec, const std::string& owner) {
  if (!DeviceMapper::available())
    throw HostError("its disk is a device-mapper snapshot, and this kernel has no device-mapper now",
                    ErrorCode::NotFound);
  DeviceMapper dm;
  const std::string name = dm_name(rec.vm);
  if (auto d = dm.get(name)) {
    if (d->uuid != dm_uuid(tag_, rec.vm))
      throw HostError("device-mapper device " + name + " exists and was not made for this VM (uuid " +
                      d->uuid + "); remove it or rename the VM",
                      ErrorCode::Conflict);
    return OpResult::Unchanged;
  }
  // After a reboot (or a crash) the dm device is gone but the COW file keeps
  // the VM's data: the same loops and table bring the disk back as it was.
  LoopDriver loops;
  std::optional<LoopDriver::Attached> base, cow;
  for (const LoopDevice& l : loops.list()) {
    if (!base && l.label == base_loop_label(tag_) && l.backing_file == rec.image)
      base = LoopDriver::Attached{l, loops.hold(l.device)};
    else if (!cow && l.label == cow_loop_label(tag_) && l.backing_file == rec.cow)
      cow = LoopDriver::Attached{l, loops.hold(l.device)};
  }
  // Each loop fd is kept until the dm device holds the loop: the loops are
  // AUTOCLEAR, so they go by themselves when the last dm device over them does.
  if (!base)
    base = journaled("attach", "loop", rec.image, owner, [&] { return loops.attach(rec.image, true, base_loop_label(tag_)); });
  if (!cow)
    cow = journaled("attach", "loop", rec.cow, owner, [&] { return loops.attach(rec.cow, false, cow_loop_label(tag_)); });
  const uint64_t sectors = static_cast<uint64_t>(rec.size) / kSector;
  if (base->dev.size < static_cast<uint64_t>(rec.size))
    throw HostError("image " + rec.image + " is now " + size_text(base->dev.size) +
                    ", smaller than the snapshot made from it (" + size_text(static_cast<uint64_t>(rec.size)) + ")");
  journaled("create", "dm", name, owner, [&] {
    return dm.create_snapshot(name, dm_uuid(tag_, rec.vm), base->dev.majmin(), cow->dev.majmin(), sectors);
  });
  return OpResult::Created;
}

void DiskManager::remove(const std::string& vm, const std::string& owner) {
  std::lock_guard g(snapshot_mu_);
  remove_locked(vm, owner);
}

void DiskManager::remove_locked(const std::string& vm, const std::string& owner) {
  auto rec = locked([&] { return store_.disk_record(vm); });
  if (rec && rec->method == "snapshot") {
    const std::string name = dm_name(vm);
    if (DeviceMapper::available()) {
      journaled("delete", "dm", name, owner, [&] {
        DeviceMapper().remove(name);
      });
    }
    journaled("delete", "cow", rec->cow, owner, [&] {
      if (::unlink(rec->cow.c_str()) != 0 && errno != ENOENT)
        throw HostError::from_errno("removing " + rec->cow, errno);
    });
    locked([&] {
      store_.transaction([&] {
        store_.delete_disk_record(vm);
        store_.forget_owned("dm", name);
        store_.forget_owned("cow", rec->cow);
      });
    });
    // AUTOCLEAR freed the loops with the dm device; this is for ones left
    // unheld: the COW's, and the image's base once no snapshot uses it.
    const bool base_unused = locked([&] { return store_.snapshot_users(rec->image); }) == 0;
    LoopDriver loops;
    for (const LoopDevice& l : loops.list()) {
      if (!l.holders.empty()) continue;
      if ((l.label == cow_loop_label(tag_) && l.backing_file == rec->cow) ||
          (base_unused && l.label == base_loop_label(tag_) && l.backing_file == rec->image))
        loops.detach(l.device);
    }
  } else {
    journaled("delete", "disk", disk_file(vm), owner, [&] {
      DiskDriver().remove(disk_file(vm));
    });
    locked([&] { store_.delete_disk_record(vm); });
  }
  std::error_code ec;
  fs::remove_all(vm_dir(vm), ec);
  if (ec) throw HostError("removing " + vm_dir(vm) + ": " + ec.message());
}

ActionOutcome DiskManager::sweep(const DiskOrphans& orphans) {
  std::lock_guard g(snapshot_mu_);
  for (const std::string& name : orphans.dm) {
    journaled("delete", "dm", name, "leftover", [&] {
      DeviceMapper().remove(name);
    });
    locked([&] { store_.forget_owned("dm", name); });
  }
  LoopDriver loops;
  for (const ObservedLoop& l : orphans.loops) {
    // Freed already when it was AUTOCLEAR under a dm device removed above.
    journaled("detach", "loop", l.device, "leftover", [&] {
      loops.detach(l.device);
    });
  }
  for (const std::string& dir : orphans.dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) throw HostError("removing " + dir + ": " + ec.message());
  }
  return ActionOutcome{{{"disks.sweep",
                         "",
                         "removed",
                         {{"dm", std::to_string(orphans.dm.size())},
                          {"loops", std::to_string(orphans.loops.size())},
                          {"dirs", std::to_string(orphans.dirs.size())}}}},
                       ""};
}

}  // namespace banger
