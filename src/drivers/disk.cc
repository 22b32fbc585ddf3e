// DiskDriver: a VM's writable disk from its base image. Reflink shares the
// image's extents (instant, no space used until the guest writes); the sparse
// copy copies only the image's data ranges, so holes stay holes.
#include "drivers/disk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/host_error.h"
#include "common/unique_fd.h"

namespace banger {

const char* to_string(DiskMethod m) {
  switch (m) {
    case DiskMethod::Reflink:
      return "reflink";
    case DiskMethod::Copy:
      return "copy";
    case DiskMethod::Snapshot:
      return "snapshot";
  }
  return "?";
}

std::optional<DiskMethod> parse_disk_method(const std::string& s) {
  for (DiskMethod m : {DiskMethod::Reflink, DiskMethod::Copy, DiskMethod::Snapshot}) {
    if (s == to_string(m)) return m;
  }
  return std::nullopt;
}

namespace {

constexpr size_t kBufSize = 1 << 20;
constexpr size_t kBlock = 4096;

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

const char* errno_name(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "unknown errno";
}

void make_dirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw HostError("disk dir " + dir + " exists and is not a directory");
    return;
  }
  make_dirs(parent_dir(dir));
  // 0750 inside the state dir, whose mode decides who passes (root, and
  // the group banger where it exists): readers list and stat disks, and
  // the disks themselves (0600) hold the guest's data for root's eyes only.
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
    throw HostError::from_errno("creating disk dir " + dir, errno);
}

// The errors that mean "this filesystem (pair) cannot share extents", as
// opposed to a real I/O problem.
bool cannot_reflink(int err) {
  return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY || err == ENOSYS;
}

bool cannot_copy_range(int err) {
  return err == EXDEV || err == EOPNOTSUPP || err == EINVAL || err == ENOSYS || err == EBADF;
}

void write_all(int fd, const char* p, size_t n, off_t off, const std::string& dst) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw HostError(errno_message("writing " + dst, w < 0 ? errno : EIO) +
                      "; check free space in its filesystem", code_of_errno(w < 0 ? errno : EIO));
    p += w, n -= static_cast<size_t>(w), off += w;
  }
}

// Copies [from, to) of src into dst. copy_file_range first (the kernel does
// the work, and may share or offload it); read/write when it cannot, then
// blocks of zeros are skipped so they stay holes in dst.
class RangeCopier {
 public:
  RangeCopier(int src, int dst, std::string src_path, std::string dst_path)
      : src_(src), dst_(dst), src_path_(std::move(src_path)), dst_path_(std::move(dst_path)) {}

  void copy(off_t from, off_t to) {
    while (from < to && use_copy_range_) {
      off_t in = from, out = from;
      ssize_t n = ::copy_file_range(src_, &in, dst_, &out, static_cast<size_t>(to - from), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && cannot_copy_range(errno)) {
        use_copy_range_ = false;
        break;
      }
      if (n < 0) {
        const int err = errno;
        throw HostError(errno_message("copying " + src_path_ + " to " + dst_path_, err) +
                        (err == ENOSPC || err == EDQUOT ? "; check free space in its filesystem" : ""), code_of_errno(err));
      }
      if (n == 0) throw HostError("image " + src_path_ + " shrank while it was being copied");
      from += n;
    }
    if (from < to) read_write(from, to);
  }

 private:
  void read_write(off_t from, off_t to) {
    if (buf_.empty()) buf_.resize(kBufSize);
    while (from < to) {
      size_t want = static_cast<size_t>(std::min<off_t>(to - from, kBufSize));
      ssize_t n = ::pread(src_, buf_.data(), want, from);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw HostError::from_errno("reading image " + src_path_, errno);
      if (n == 0) throw HostError("image " + src_path_ + " shrank while it was being copied");
      for (size_t off = 0; off < static_cast<size_t>(n); off += kBlock) {
        size_t len = std::min(kBlock, static_cast<size_t>(n) - off);
        const char* p = buf_.data() + off;
        if (p[0] == 0 && std::memcmp(p, p + 1, len - 1) == 0) continue;  // all zero
        write_all(dst_, p, len, from + static_cast<off_t>(off), dst_path_);
      }
      from += n;
    }
  }

  int src_, dst_;
  std::string src_path_, dst_path_;
  bool use_copy_range_ = true;
  std::vector<char> buf_;
};

void sparse_copy(int src, int dst, off_t size, const std::string& src_path,
                 const std::string& dst_path) {
  RangeCopier copier(src, dst, src_path, dst_path);
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(src, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole remains
    if (data < 0) {
      // No SEEK_DATA on this filesystem: copy the rest; zeros are still skipped.
      copier.copy(pos, size);
      break;
    }
    off_t hole = ::lseek(src, data, SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    copier.copy(data, hole);
    pos = hole;
  }
  // Sets the length (a trailing hole has no data to copy).
  if (::ftruncate(dst, size) != 0) throw HostError::from_errno("sizing " + dst_path, errno);
}

// Removes the temp file unless the disk made it to its real name.
struct TempFileGuard {
  std::string path;
  bool keep = false;
  ~TempFileGuard() {
    if (!keep) ::unlink(path.c_str());
  }
};

void fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Makes the rename durable; a failure here loses nothing already written.
  if (fd) ::fsync(fd.get());
}

}  // namespace

uint64_t DiskDriver::file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw HostError::from_errno("reading the size of " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

DiskOutcome DiskDriver::ensure(const DiskSpec& spec) {
  DiskOutcome out;
  struct stat st {};
  if (::stat(spec.disk_path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw HostError("disk " + spec.disk_path + " exists and is not a regular file; move it away");
    // An existing disk holds the VM's data: it is grown, never rewritten or
    // shrunk (a smaller diskSize than the disk is left as it is).
    out.size = static_cast<uint64_t>(st.st_size);
    if (spec.size > out.size) {
      UniqueFd fd(::open(spec.disk_path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) throw HostError::from_errno("opening disk " + spec.disk_path, errno);
      if (::ftruncate(fd.get(), static_cast<off_t>(spec.size)) != 0 || ::fsync(fd.get()) != 0)
        throw HostError(errno_message("growing disk " + spec.disk_path + " to " +
                                          std::to_string(spec.size) + " bytes",
                                      errno) +
                        "; check free space in its filesystem", code_of_errno(errno));
      out.result = OpResult::Updated;
      out.size = spec.size;
    }
    return out;
  }
  if (errno != ENOENT) throw HostError::from_errno("checking disk " + spec.disk_path, errno);

  if (spec.strategy == DiskStrategy::Snapshot)
    throw HostError("disk " + spec.disk_path +
                    ": a device-mapper snapshot is not a file; the disk manager makes it");

  UniqueFd src(::open(spec.image_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src)
    throw HostError(errno_message("opening image " + spec.image_path, errno) +
                    "; apply the Image first or fix its path", code_of_errno(errno));
  struct stat ist {};
  if (::fstat(src.get(), &ist) != 0 || !S_ISREG(ist.st_mode))
    throw HostError("image " + spec.image_path + " is not a regular file");
  const uint64_t image_size = static_cast<uint64_t>(ist.st_size);
  if (spec.size != 0 && spec.size < image_size)
    throw HostError("disk " + spec.disk_path + ": diskSize " + std::to_string(spec.size) +
                    " bytes is smaller than image " + spec.image_path + " (" +
                    std::to_string(image_size) +
                    " bytes); set diskSize to at least the image's size");
  const uint64_t size = spec.size ? spec.size : image_size;

  const std::string dir = parent_dir(spec.disk_path);
  make_dirs(dir);
  // Written under a temp name and renamed: a crash never leaves a half disk
  // under the real name. A leftover from such a crash is started over.
  TempFileGuard tmp{spec.disk_path + ".tmp"};
  if (::unlink(tmp.path.c_str()) != 0 && errno != ENOENT)
    throw HostError::from_errno("removing leftover " + tmp.path, errno);
  UniqueFd dst(::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!dst) throw HostError::from_errno("creating " + tmp.path, errno);

  out.method = DiskMethod::Copy;
  if (spec.strategy == DiskStrategy::Reflink || spec.strategy == DiskStrategy::Auto) {
    if (::ioctl(dst.get(), FICLONE, src.get()) == 0) {
      out.method = DiskMethod::Reflink;
    } else {
      const int err = errno;
      if (!cannot_reflink(err))
        throw HostError::from_errno("cloning " + spec.image_path + " to " + tmp.path, err);
      if (spec.strategy == DiskStrategy::Reflink) {
        if (err == EXDEV)
          throw ReflinkUnsupported("image " + spec.image_path + " and " + dir +
                                   " are on different filesystems, so they cannot share extents (EXDEV); "
                                   "use diskStrategy copy or auto",
                                   ErrorCode::Invalid);
        throw ReflinkUnsupported("the filesystem of " + dir + " cannot reflink (" + errno_name(err) +
                                 "); use diskStrategy copy or auto",
                                 ErrorCode::Invalid);
      }
    }
  }
  if (out.method == DiskMethod::Copy)
    sparse_copy(src.get(), dst.get(), static_cast<off_t>(image_size), spec.image_path, tmp.path);

  if (size > image_size && ::ftruncate(dst.get(), static_cast<off_t>(size)) != 0)
    throw HostError(
        errno_message("growing " + tmp.path + " to " + std::to_string(size) + " bytes", errno));
  if (::fsync(dst.get()) != 0)
    throw HostError(errno_message("writing " + tmp.path, errno) +
                    "; check free space in its filesystem", code_of_errno(errno));
  dst.reset();
  if (::rename(tmp.path.c_str(), spec.disk_path.c_str()) != 0)
    throw HostError::from_errno("renaming " + tmp.path + " to " + spec.disk_path, errno);
  tmp.keep = true;
  fsync_dir(dir);
  out.result = OpResult::Created;
  out.size = size;
  return out;
}

bool DiskDriver::reflink_supported(const std::string& dir, std::string* why) {
  // Named per process: a diff and an apply may probe the same dir at once.
  const std::string base = dir + "/.reflink-probe-" + std::to_string(::getpid());
  const std::string a = base + "-a", b = base + "-b";
  TempFileGuard ga{a}, gb{b};
  UniqueFd src(::open(a.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd dst(::open(b.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!src || !dst) {
    if (why) *why = errno_message("creating a probe file in " + dir, errno);
    return false;
  }
  // A block of data: FICLONE of an empty file succeeds even where the
  // filesystem could not share a real extent.
  std::vector<char> block(kBlock, 'b');
  if (::pwrite(src.get(), block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) ||
      ::fsync(src.get()) != 0) {
    if (why) *why = errno_message("writing a probe file in " + dir, errno);
    return false;
  }
  if (::ioctl(dst.get(), FICLONE, src.get()) != 0) {
    if (why) *why = std::string("the filesystem of ") + dir + " cannot reflink (" + errno_name(errno) + ")";
    return false;
  }
  return true;
}

void DiskDriver::remove(const std::string& disk_path) {
  for (const std::string& p : {disk_path, disk_path + ".tmp"})
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      throw HostError::from_errno("removing disk " + p, errno);
}

}  // namespace banger
