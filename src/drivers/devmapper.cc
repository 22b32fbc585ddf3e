#include "drivers/devmapper.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/dm_lib.h"

namespace banger {

namespace {

// From <linux/dm-ioctl.h>, with the terminating NUL.
constexpr size_t kNameLen = 128;
constexpr size_t kUuidLen = 129;
// libdevmapper's log levels (lvm2 libdm/misc/dm-logging.h); the bits above
// are flags such as "to stderr".
constexpr int kLogErr = 3;
constexpr int kLogWarn = 4;
constexpr int kLogLevelMask = 0xf;

// libdevmapper keeps global state (the control fd, the queue of /dev/mapper
// node operations that dm_udev_wait() performs): one call at a time.
std::mutex g_mutex;

// The library's last error message on this thread: dm_task_run() only says
// "failed", the reason (e.g. "device-mapper: reload ioctl on banger-x failed:
// No such device or address") arrives through the log function.
thread_local std::string t_last_error;

extern "C" __attribute__((format(printf, 5, 6))) void log_to_spdlog(int level, const char* file,
                                                                      int line, int dm_errno,
                                                                      const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  level &= kLogLevelMask;
  // Errors become HostError text (a caller decides whether they matter: an
  // ENXIO on remove is success), so the log only gets them at debug.
  if (level <= kLogErr) {
    t_last_error = buf;
    spdlog::debug("libdevmapper: {} ({}:{}, errno {})", buf, file ? file : "?", line, dm_errno);
  } else if (level == kLogWarn) {
    spdlog::debug("libdevmapper: {}", buf);
  } else {
    spdlog::trace("libdevmapper: {}", buf);
  }
}

void route_logs() {
  static std::once_flag once;
  std::call_once(once, [] { dm_api().dm_log_with_errno_init(log_to_spdlog); });
}

/// " (libdevmapper: <last error>)", or "" when it said nothing.
std::string library_says() {
  return t_last_error.empty() ? "" : " (libdevmapper: " + t_last_error + ")";
}

struct TaskDeleter {
  void operator()(dm_task* t) const { dm_api().dm_task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

Task make_task(int type, const std::string& name, const std::string& what) {
  t_last_error.clear();
  Task t(dm_api().dm_task_create(type));
  // NULL also when the kernel driver's version cannot be read.
  if (!t) throw HostError("device-mapper: cannot " + what + library_says());
  if (!name.empty() && !dm_api().dm_task_set_name(t.get(), name.c_str())) {
    throw HostError("device-mapper: cannot " + what + ": bad name \"" + name + "\"" +
                    library_says());
  }
  return t;
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() >= kNameLen || name.find('/') != std::string::npos ||
      name == "." || name == "..") {
    throw HostError("device-mapper: \"" + name +
                    "\" is not a valid device name (1.." + std::to_string(kNameLen - 1) +
                    " bytes, no '/')");
  }
}

std::string root_hint(int e) {
  return e == EACCES || e == EPERM ? " (banger needs root)" : "";
}

bool is_majmin(const std::string& s) {
  auto colon = s.find(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < s.size() &&
         s.find_first_not_of("0123456789:") == std::string::npos &&
         s.find(':', colon + 1) == std::string::npos;
}

/// "MAJ:MIN" of a block device given as a path or as "MAJ:MIN", the form the
/// kernel prints tables in, so a table can be compared with what exists.
std::string to_majmin(const std::string& dev, const std::string& role, const std::string& name) {
  if (is_majmin(dev)) return dev;
  struct stat st {};
  if (::stat(dev.c_str(), &st) < 0) {
    throw HostError::from_errno("device-mapper: " + name + ": " + role + " device " + dev, errno);
  }
  if (!S_ISBLK(st.st_mode)) {
    throw HostError("device-mapper: " + name + ": " + role + " " + dev +
                    " is not a block device (attach the file to a loop device first)");
  }
  return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
}

std::string describe_table(const std::vector<DmTarget>& targets) {
  if (targets.empty()) return "no table";
  std::string out;
  for (const auto& t : targets) {
    if (!out.empty()) out += "; ";
    out += std::to_string(t.start) + " " + std::to_string(t.length) + " " + t.type + " " + t.params;
  }
  return out;
}

/// The kernel gives its reason for refusing a table ("loop0 too small for
/// target", "COW device cannot be the same as origin device") only in its
/// log; the ioctl says EINVAL. Reads what device-mapper logged since
/// construction. Best effort: /dev/kmsg may be missing or closed to us.
class KernelLog {
 public:
  KernelLog() : fd_(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
    if (fd_) ::lseek(fd_.get(), 0, SEEK_END);
  }
  /// " (kernel: device-mapper: table: ...; ...)", or "".
  std::string device_mapper_says() {
    std::string out;
    char buf[8192];
    for (int records = 0; fd_ && records < 64; ++records) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);  // one record per read
      if (n < 0 && errno == EPIPE) continue;           // records overwritten meanwhile
      if (n <= 0) break;
      std::string rec(buf, static_cast<size_t>(n));
      size_t semi = rec.find(';');
      if (semi == std::string::npos) continue;
      std::string msg = rec.substr(semi + 1, rec.find('\n', semi) - semi - 1);
      if (msg.rfind("device-mapper:", 0) == 0) out += (out.empty() ? "" : "; ") + msg;
    }
    return out.empty() ? "" : " (kernel: " + out + ")";
  }

 private:
  UniqueFd fd_;
};

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// Runs the queued /dev/mapper node operations. Without udev sync the cookie
/// is 0 and this is where libdevmapper mknods or unlinks the node itself.
void wait_cookie(uint32_t cookie, const std::string& name) {
  if (!dm_api().dm_udev_wait(cookie)) {
    spdlog::warn("device-mapper: {}: waiting for udev/node creation failed{}", name,
                 library_says());
  }
}

std::optional<DmDevice> get_locked(const std::string& name) {
  Task t = make_task(DM_DEVICE_TABLE, name, "read the table of " + name);
  if (!dm_api().dm_task_run(t.get())) {
    int e = dm_api().dm_task_get_errno(t.get());
    if (e == ENXIO || e == ENODEV) return std::nullopt;
    throw HostError(errno_message("device-mapper: cannot read the table of " + name, e) +
                    library_says(), code_of_errno(e));
  }
  dm_info info{};
  if (!dm_api().dm_task_get_info(t.get(), &info) || !info.exists) return std::nullopt;
  DmDevice d;
  d.name = name;
  if (const char* uuid = dm_api().dm_task_get_uuid(t.get())) d.uuid = uuid;
  d.major = info.major;
  d.minor = info.minor;
  d.open_count = info.open_count;
  d.suspended = info.suspended != 0;
  void* next = nullptr;
  do {
    uint64_t start = 0, length = 0;
    char* type = nullptr;
    char* params = nullptr;
    next = dm_api().dm_get_next_target(t.get(), next, &start, &length, &type, &params);
    if (type) d.targets.push_back({start, length, type, params ? params : ""});
  } while (next);

  Task deps = make_task(DM_DEVICE_DEPS, name, "read what " + name + " uses");
  if (!dm_api().dm_task_run(deps.get())) {
    int e = dm_api().dm_task_get_errno(deps.get());
    if (e == ENXIO || e == ENODEV) return std::nullopt;  // removed meanwhile
    throw HostError(errno_message("device-mapper: cannot read what " + name + " uses", e) +
                    library_says(), code_of_errno(e));
  }
  if (dm_deps* dd = dm_api().dm_task_get_deps(deps.get())) {
    for (uint32_t i = 0; i < dd->count; ++i) {
      // The kernel's 64-bit encoding, which glibc's major()/minor() read.
      dev_t dev = static_cast<dev_t>(dd->device[i]);
      d.deps.push_back(std::to_string(major(dev)) + ":" + std::to_string(minor(dev)));
    }
  }
  std::sort(d.deps.begin(), d.deps.end());
  return d;
}

}  // namespace

bool DeviceMapper::in_kernel(std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  bool in_misc = false;
  {
    std::ifstream misc("/proc/misc");
    for (std::string line; std::getline(misc, line);) {
      if (line.size() >= 13 && line.compare(line.size() - 13, 13, "device-mapper") == 0) {
        in_misc = true;
      }
    }
  }
  struct stat st {};
  bool module = ::stat("/sys/module/dm_mod", &st) == 0;
  // Checked before any libdevmapper call: the library mknods
  // /dev/mapper/control on its first use, also on a kernel without dm.
  if (!in_misc && !module) {
    return no(
        "this kernel has no device-mapper (no \"device-mapper\" in /proc/misc, no "
        "/sys/module/dm_mod); load it with `modprobe dm_mod dm_snapshot` where it is a module");
  }
  if (why) *why = "device-mapper is in the kernel";
  return true;
}

bool DeviceMapper::available(std::string* why) {
  if (!in_kernel(why)) return false;
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  std::lock_guard lock(g_mutex);
  route_logs();
  t_last_error.clear();
  char version[64] = {};
  if (!dm_api().dm_driver_version(version, sizeof version)) {
    return no("device-mapper is in the kernel but libdevmapper cannot reach it through "
              "/dev/mapper/control" +
              library_says() + (::geteuid() != 0 ? "; banger needs root" : ""));
  }
  if (why) *why = std::string("device-mapper driver ") + version;
  return true;
}

DeviceMapper::DeviceMapper() {
  std::string why;
  if (!available(&why)) throw HostError("device-mapper: " + why);
  std::lock_guard lock(g_mutex);
  // No waiting on udev: it may be absent (containers, minimal hosts) or in
  // another namespace, and a wait on it would hang. The library then makes
  // the /dev/mapper nodes itself in dm_udev_wait().
  dm_api().dm_udev_set_sync_support(0);
}

DeviceMapper::~DeviceMapper() {
  std::lock_guard lock(g_mutex);
  dm_api().dm_lib_release();  // closes the control fd; the next call reopens it
}

std::string DeviceMapper::device_path(const std::string& name) { return "/dev/mapper/" + name; }

OpResult DeviceMapper::create_snapshot(const std::string& name, const std::string& uuid,
                                       const std::string& origin, const std::string& cow,
                                       uint64_t sectors) {
  check_name(name);
  if (uuid.empty() || uuid.size() >= kUuidLen) {
    throw HostError("device-mapper: " + name + ": uuid \"" + uuid + "\" must be 1.." +
                    std::to_string(kUuidLen - 1) + " bytes");
  }
  if (sectors == 0) throw HostError("device-mapper: " + name + ": a snapshot of 0 sectors");
  const std::string params =
      to_majmin(origin, "origin", name) + " " + to_majmin(cow, "copy-on-write", name) + " P 8";

  std::lock_guard lock(g_mutex);
  if (std::optional<DmDevice> have = get_locked(name)) {
    bool same = have->uuid == uuid && have->targets.size() == 1 &&
                have->targets[0].start == 0 && have->targets[0].length == sectors &&
                have->targets[0].type == "snapshot" && have->targets[0].params == params;
    if (!same) {
      throw HostError("device-mapper: " + name + " exists with uuid \"" + have->uuid +
                      "\" and table \"" + describe_table(have->targets) + "\", not uuid \"" +
                      uuid + "\" and \"0 " + std::to_string(sectors) + " snapshot " + params +
                      "\"; banger will not change it: remove it first if it is banger's");
    }
    // The node may be missing after a crash before dm_udev_wait(), or on a
    // fresh /dev; making it again is cheap.
    if (!path_exists(device_path(name))) dm_api().dm_mknodes(name.c_str());
    return OpResult::Unchanged;
  }

  Task t = make_task(DM_DEVICE_CREATE, name, "create " + name);
  if (!dm_api().dm_task_set_uuid(t.get(), uuid.c_str())) {
    throw HostError("device-mapper: cannot create " + name + ": bad uuid \"" + uuid + "\"" +
                    library_says());
  }
  if (!dm_api().dm_task_add_target(t.get(), 0, sectors, "snapshot", params.c_str())) {
    throw HostError("device-mapper: cannot create " + name + ": out of memory" + library_says());
  }
  uint32_t cookie = 0;
  if (!dm_api().dm_task_set_cookie(t.get(), &cookie, 0)) {
    throw HostError("device-mapper: cannot create " + name + ": no udev cookie" + library_says());
  }
  // CREATE with a table is create + load + resume; when the load fails the
  // library removes the half-made device again.
  KernelLog kernel;
  bool ok = dm_api().dm_task_run(t.get()) != 0;
  // 0 after a refused table: the library's cleanup (remove) ran last.
  int e = ok ? 0 : dm_api().dm_task_get_errno(t.get());
  std::string said = library_says();
  wait_cookie(cookie, name);
  if (!ok) {
    const std::string what = "device-mapper: cannot create snapshot " + name + " of " + origin +
                             " with copy-on-write " + cow;
    if (e == EEXIST) {
      throw HostError(what + ": a device of that name appeared meanwhile" + said);
    }
    if (e == 0 || e == EINVAL || e == ENXIO || e == ENODEV) {
      throw HostError(what + ": the kernel refused the table \"0 " + std::to_string(sectors) +
                      " snapshot " + params + "\"" + kernel.device_mapper_says() + said);
    }
    throw HostError(errno_message(what, e) + root_hint(e) + said, code_of_errno(e));
  }
  if (!path_exists(device_path(name))) {
    dm_api().dm_mknodes(name.c_str());
    if (!path_exists(device_path(name))) {
      spdlog::warn("device-mapper: {} was created but {} did not appear", name,
                   device_path(name));
    }
  }
  return OpResult::Created;
}

void DeviceMapper::remove(const std::string& name) {
  check_name(name);
  std::lock_guard lock(g_mutex);
  std::optional<DmDevice> have = get_locked(name);
  if (!have) {
    // A node left behind by a crash between the ioctl and the node removal:
    // MKNODES on an absent device unlinks it.
    if (path_exists(device_path(name))) dm_api().dm_mknodes(name.c_str());
    return;
  }
  Task t = make_task(DM_DEVICE_REMOVE, name, "remove " + name);
  // Something may hold the device for a moment (udev's blkid probe right
  // after create): the library retries for a few seconds on EBUSY.
  dm_api().dm_task_retry_remove(t.get());
  uint32_t cookie = 0;
  if (!dm_api().dm_task_set_cookie(t.get(), &cookie, 0)) {
    throw HostError("device-mapper: cannot remove " + name + ": no udev cookie" + library_says());
  }
  bool ok = dm_api().dm_task_run(t.get()) != 0;
  int e = ok ? 0 : dm_api().dm_task_get_errno(t.get());
  std::string said = library_says();
  wait_cookie(cookie, name);
  if (ok || e == ENXIO || e == ENODEV) return;
  if (e == EBUSY) {
    std::optional<DmDevice> now = get_locked(name);
    int opens = now ? now->open_count : have->open_count;
    throw HostError("device-mapper: cannot remove " + name + ": it is in use (" +
                    device_path(name) + " is open " + std::to_string(opens) +
                    (opens == 1 ? " time" : " times") +
                    "); stop the VM or process using it, then retry");
  }
  throw HostError(errno_message("device-mapper: cannot remove " + name, e ? e : EIO) + said, code_of_errno(e ? e : EIO));
}

std::vector<DmDevice> DeviceMapper::list(const std::string& prefix) {
  std::lock_guard lock(g_mutex);
  std::vector<std::string> names;
  {
    Task t = make_task(DM_DEVICE_LIST, "", "list devices");
    if (!dm_api().dm_task_run(t.get())) {
      throw HostError(errno_message("device-mapper: cannot list devices",
                                    dm_api().dm_task_get_errno(t.get())) +
                      library_says(), code_of_errno(dm_api().dm_task_get_errno(t.get())));
    }
    dm_names* n = dm_api().dm_task_get_names(t.get());
    // dev == 0: the list is empty; entries are chained by byte offsets.
    if (n && n->dev) {
      uint32_t next = 0;
      do {
        n = reinterpret_cast<dm_names*>(reinterpret_cast<char*>(n) + next);
        std::string name = n->name;
        if (name.rfind(prefix, 0) == 0) names.push_back(std::move(name));
        next = n->next;
      } while (next);
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<DmDevice> out;
  for (const auto& name : names) {
    if (auto d = get_locked(name)) out.push_back(std::move(*d));  // else: removed meanwhile
  }
  return out;
}

std::optional<DmDevice> DeviceMapper::get(const std::string& name) {
  check_name(name);
  std::lock_guard lock(g_mutex);
  return get_locked(name);
}

std::optional<SnapshotStatus> DeviceMapper::snapshot_status(const std::string& name) {
  check_name(name);
  std::lock_guard lock(g_mutex);
  Task t = make_task(DM_DEVICE_STATUS, name, "read the status of " + name);
  if (!dm_api().dm_task_run(t.get())) {
    int e = dm_api().dm_task_get_errno(t.get());
    if (e == ENXIO || e == ENODEV) return std::nullopt;
    throw HostError(errno_message("device-mapper: cannot read the status of " + name, e) +
                    library_says(), code_of_errno(e));
  }
  dm_info info{};
  if (!dm_api().dm_task_get_info(t.get(), &info) || !info.exists) return std::nullopt;
  uint64_t start = 0, length = 0;
  char* type = nullptr;
  char* params = nullptr;
  dm_api().dm_get_next_target(t.get(), nullptr, &start, &length, &type, &params);
  if (!type || std::string(type) != "snapshot" || !params) {
    throw HostError("device-mapper: " + name + " is not a snapshot (its first target is " +
                    (type ? std::string("\"") + type + "\"" : std::string("missing")) + ")");
  }
  std::unique_ptr<dm_pool, void (*)(dm_pool*)> mem(dm_api().dm_pool_create("banger-status", 512),
                                                   dm_api().dm_pool_destroy);
  dm_status_snapshot* st = nullptr;
  if (!mem || !dm_api().dm_get_status_snapshot(mem.get(), params, &st) || !st) {
    throw HostError("device-mapper: cannot parse the status \"" + std::string(params) + "\" of " +
                    name + library_says());
  }
  SnapshotStatus out;
  out.used_sectors = st->used_sectors;
  out.total_sectors = st->total_sectors;
  out.metadata_sectors = st->metadata_sectors;
  out.invalid = st->invalid;
  out.overflow = st->overflow;
  return out;
}

namespace {

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

std::vector<DmDevice> DeviceMapper::list_from_sysfs(const std::string& prefix, const std::string& sys) {
  namespace fs = std::filesystem;
  std::vector<DmDevice> out;
  std::error_code ec;
  for (fs::directory_iterator it(sys + "/block", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string dev = it->path().filename().string();
    if (dev.rfind("dm-", 0) != 0) continue;
    const std::string dir = it->path().string();
    DmDevice d;
    d.name = first_line(dir + "/dm/name");
    if (d.name.rfind(prefix, 0) != 0) continue;
    d.uuid = first_line(dir + "/dm/uuid");
    if (unsigned maj = 0, min = 0; std::sscanf(first_line(dir + "/dev").c_str(), "%u:%u", &maj, &min) == 2) {
      d.major = maj;
      d.minor = min;
    }
    std::error_code sec;
    for (fs::directory_iterator s(dir + "/slaves", sec), send; !sec && s != send; s.increment(sec)) {
      std::string majmin = first_line(sys + "/class/block/" + s->path().filename().string() + "/dev");
      if (!majmin.empty()) d.deps.push_back(majmin);
    }
    std::sort(d.deps.begin(), d.deps.end());
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const DmDevice& a, const DmDevice& b) { return a.name < b.name; });
  return out;
}

}  // namespace banger
