#include "drivers/loop.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/host_error.h"
#include "common/read_file.h"

namespace banger {

namespace {

namespace fs = std::filesystem;

constexpr const char kDeleted[] = " (deleted)";

/// N of "/dev/loopN"; anything else is refused, so a typo can never point
/// LOOP_CLR_FD at another kind of device.
int loop_number(const std::string& device) {
  const std::string prefix = "/dev/loop";
  std::string digits = device.rfind(prefix, 0) == 0 ? device.substr(prefix.size()) : "";
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    throw HostError("\"" + device + "\" is not a loop device path (/dev/loopN)");
  }
  return std::stoi(digits);
}

/// One sysfs attribute without its trailing newline; false when it cannot be
/// read (the device went away meanwhile).
bool read_sys(const fs::path& path, std::string& out) {
  auto read = read_small_file(path);
  if (!read) return false;
  std::string text = std::move(*read);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  out = std::move(text);
  return true;
}

// sysfs numbers ("2048", "7"): anything else is an error, not 0.
uint64_t to_u64(const std::string& s, const std::string& what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    throw HostError("loop: " + what + " is \"" + s + "\", not a number", ErrorCode::Io);
  }
  return v;
}

std::string label_of(const loop_info64& info) {
  const char* name = reinterpret_cast<const char*>(info.lo_file_name);
  return std::string(name, strnlen(name, sizeof info.lo_file_name));
}

std::string root_hint(int e) {
  return e == EACCES || e == EPERM ? " (banger needs root)" : "";
}

/// LOOP_CONFIGURE came with Linux 5.8; once it is known missing, go straight
/// to the two-step fallback.
std::atomic<bool> g_configure_missing{false};

enum class Bind { Done, Taken };

/// Binds `file_fd` to the free loop device `loop_fd`; Taken when another
/// process bound it first (EBUSY), so the caller asks for a new number.
Bind bind_loop(int loop_fd, int file_fd, bool read_only, const std::string& label,
               const std::string& file, const std::string& device) {
  loop_info64 info{};
  info.lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0);
  std::memcpy(info.lo_file_name, label.data(), label.size());  // checked: < LO_NAME_SIZE

  if (!g_configure_missing.load()) {
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(file_fd);
    cfg.info = info;
    if (::ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0) return Bind::Done;
    int e = errno;
    if (e == EBUSY) return Bind::Taken;
    // Before 5.8 the loop driver answers an unknown ioctl with EINVAL (or
    // ENOTTY); LOOP_SET_FD below then tells a real EINVAL apart.
    if (e != EINVAL && e != ENOTTY) {
      throw HostError(errno_message("loop: cannot attach " + file + " to " + device +
                                        " (LOOP_CONFIGURE)",
                                    e) +
                      root_hint(e), code_of_errno(e));
    }
  }

  // Fallback: read-only comes from the O_RDONLY backing fd; only AUTOCLEAR
  // (and PARTSCAN) can be set afterwards.
  if (::ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0) {
    int e = errno;
    if (e == EBUSY) return Bind::Taken;
    throw HostError(
        errno_message("loop: cannot attach " + file + " to " + device + " (LOOP_SET_FD)", e) +
        root_hint(e));
  }
  g_configure_missing = true;
  info.lo_flags = LO_FLAGS_AUTOCLEAR;
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &info) < 0) {
    int e = errno;
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    throw HostError::from_errno(
        "loop: cannot set flags and label of " + device + " for " + file + " (LOOP_SET_STATUS64)",
        e);
  }
  return Bind::Done;
}

/// /dev/loopN appears through devtmpfs right after LOOP_CTL_GET_FREE made the
/// device; give it a moment rather than failing on the first ENOENT.
UniqueFd open_new_loop(const std::string& device) {
  for (int i = 0;; ++i) {
    UniqueFd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (fd) return fd;
    int e = errno;
    if (e != ENOENT || i >= 50) {
      throw HostError(errno_message("loop: cannot open " + device, e) +
                      (e == ENOENT ? " (is /dev a devtmpfs?)" : root_hint(e)), code_of_errno(e));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::string LoopDevice::majmin() const {
  return std::to_string(major) + ":" + std::to_string(minor);
}

LoopDriver::Attached LoopDriver::attach(const std::string& file, bool read_only,
                                        const std::string& label) {
  if (label.size() > kMaxLabel) {
    throw HostError("loop: label \"" + label + "\" for " + file + " is " +
                    std::to_string(label.size()) + " bytes; the kernel keeps at most " +
                    std::to_string(kMaxLabel));
  }
  UniqueFd file_fd(::open(file.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!file_fd) {
    int e = errno;
    throw HostError(errno_message("loop: cannot open " + file +
                                      (read_only ? " for reading" : " for reading and writing"),
                                  e) +
                    (e == EISDIR ? " (a loop device needs a regular file)" : ""), code_of_errno(e));
  }
  struct stat st {};
  if (::fstat(file_fd.get(), &st) < 0) {
    throw HostError::from_errno("loop: cannot stat " + file, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw HostError("loop: " + file + " is " +
                    (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                    "; a loop device needs a regular file");
  }

  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl) {
    int e = errno;
    throw HostError(errno_message("loop: cannot open /dev/loop-control to attach " + file, e) +
                    (e == ENOENT ? " (load the loop module: modprobe loop)" : root_hint(e)), code_of_errno(e));
  }
  // Another process (losetup, a second banger, udisks) may take the free
  // number between GET_FREE and the bind: then ask again.
  for (int attempt = 0; attempt < 64; ++attempt) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) {
      int e = errno;
      throw HostError(
          errno_message("loop: no free loop device for " + file + " (LOOP_CTL_GET_FREE)", e) +
          (e == ENOSPC ? " (raise the loop module's max_loop)" : root_hint(e)));
    }
    std::string device = "/dev/loop" + std::to_string(n);
    UniqueFd loop_fd = open_new_loop(device);
    if (bind_loop(loop_fd.get(), file_fd.get(), read_only, label, file, device) == Bind::Taken) {
      continue;
    }
    std::optional<LoopDevice> dev = describe(device);
    if (!dev) {
      throw HostError("loop: " + device + " lost its backing file " + file +
                      " right after attach; is another program detaching loop devices?");
    }
    return Attached{std::move(*dev), std::move(loop_fd)};
  }
  throw HostError("loop: cannot attach " + file +
                  ": every free loop device was taken by another process first (64 tries)");
}

UniqueFd LoopDriver::hold(const std::string& device) {
  loop_number(device);
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    throw HostError(errno_message("loop: cannot open " + device + " to hold it", e) +
                    root_hint(e), code_of_errno(e));
  }
  loop_info64 info{};
  if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) < 0) {
    int e = errno;
    if (e == ENXIO) {
      throw HostError("loop: " + device +
                      " is no longer attached to a file (AUTOCLEAR detached it when its last "
                      "user closed it)");
    }
    throw HostError::from_errno("loop: cannot read the status of " + device, e);
  }
  return fd;
}

std::optional<LoopDevice> LoopDriver::describe(const std::string& device) {
  const int n = loop_number(device);
  const fs::path sys = "/sys/block/loop" + std::to_string(n);
  LoopDevice d;
  d.device = device;
  d.number = n;
  // The loop/ group exists only while the device is bound.
  std::string backing, ro, size, autoclear, dev;
  if (!read_sys(sys / "loop" / "backing_file", backing)) return std::nullopt;
  if (!read_sys(sys / "dev", dev) || !read_sys(sys / "size", size)) return std::nullopt;
  read_sys(sys / "ro", ro);
  read_sys(sys / "loop" / "autoclear", autoclear);
  const size_t del = sizeof kDeleted - 1;
  if (backing.size() >= del && backing.compare(backing.size() - del, del, kDeleted) == 0) {
    backing.resize(backing.size() - del);
    d.backing_deleted = true;
  }
  d.backing_file = backing;
  d.read_only = ro == "1";
  d.autoclear = autoclear == "1";
  d.size = to_u64(size, (sys / "size").string()) * 512;
  auto colon = dev.find(':');
  if (colon != std::string::npos) {
    d.major = static_cast<uint32_t>(to_u64(dev.substr(0, colon), (sys / "dev").string()));
    d.minor = static_cast<uint32_t>(to_u64(dev.substr(colon + 1), (sys / "dev").string()));
  }
  std::error_code ec;
  for (const auto& h : fs::directory_iterator(sys / "holders", ec)) {
    d.holders.push_back(h.path().filename().string());
  }
  std::sort(d.holders.begin(), d.holders.end());

  // The label is not in sysfs. Opening the device for the ioctl is harmless:
  // if its last user closes meanwhile, AUTOCLEAR fires at our close instead.
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd) {
    loop_info64 info{};
    if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) == 0) {
      d.label = label_of(info);
    } else if (errno == ENXIO) {
      return std::nullopt;  // detached between the sysfs reads and now
    }
  }
  return d;
}

std::vector<LoopDevice> LoopDriver::list() {
  std::vector<LoopDevice> out;
  std::error_code ec;
  fs::directory_iterator it("/sys/block", ec);
  // Unreadable is not "no loop devices": that would make banger's own look gone.
  if (ec) throw HostError("loop: reading /sys/block: " + ec.message(), ErrorCode::Io);
  for (const auto& e : it) {
    std::string name = e.path().filename().string();
    if (name.rfind("loop", 0) != 0 || name.size() == 4 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos) {
      continue;
    }
    if (!fs::exists(e.path() / "loop" / "backing_file", ec)) continue;  // unbound
    if (auto d = describe("/dev/" + name)) out.push_back(std::move(*d));
  }
  std::sort(out.begin(), out.end(),
            [](const LoopDevice& a, const LoopDevice& b) { return a.number < b.number; });
  return out;
}

void LoopDriver::detach(const std::string& device) {
  loop_number(device);
  std::optional<LoopDevice> d = describe(device);
  if (!d) return;
  if (!d->holders.empty()) {
    std::string names;
    for (const auto& h : d->holders) names += (names.empty() ? "" : ", ") + h;
    throw HostError("loop: cannot detach " + device + " (" + d->backing_file + "): " + names +
                    " still use" + (d->holders.size() == 1 ? "s" : "") +
                    " it; remove the device-mapper device first");
  }
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    if (e == ENOENT || e == ENXIO) return;
    throw HostError(errno_message("loop: cannot open " + device + " to detach it", e) +
                    root_hint(e), code_of_errno(e));
  }
  // While others have it open the kernel only marks it AUTOCLEAR and detaches
  // at their last close; that is what we want (a VM may still be stopping).
  if (::ioctl(fd.get(), LOOP_CLR_FD, 0) < 0) {
    int e = errno;
    if (e == ENXIO) return;  // not bound: already detached
    throw HostError(errno_message("loop: cannot detach " + device + " (" + d->backing_file +
                                      ") (LOOP_CLR_FD)",
                                  e) +
                    (e == EBUSY ? " (it is still open)" : root_hint(e)), code_of_errno(e));
  }
}

void LoopDriver::refresh_size(const std::string& device) {
  loop_number(device);
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    throw HostError(errno_message("loop: cannot open " + device + " to resize it", e) +
                    root_hint(e), code_of_errno(e));
  }
  if (::ioctl(fd.get(), LOOP_SET_CAPACITY, 0) < 0) {
    int e = errno;
    throw HostError(
        errno_message("loop: cannot resize " + device + " to its file's size (LOOP_SET_CAPACITY)",
                      e) +
        (e == ENXIO ? " (it is not attached to a file)" : root_hint(e)));
  }
}

}  // namespace banger
