#include "drivers/ext4_files.h"

#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

#include "drivers/ext2fs_lib.h"

namespace banger {
namespace {

// read_guest_file reads files like /etc/passwd; a bigger one is not what the
// caller meant, and would all be held in memory.
constexpr uint64_t kMaxRead = 64 << 20;

ErrorCode code_of(errcode_t err) {
  if (err > 0 && err < 4096) return code_of_errno(static_cast<int>(err));  // from the I/O layer
  switch (err) {
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_NO_MEMORY:
    case EXT2_ET_DIR_NO_SPACE:
      return ErrorCode::Exhausted;
    case EXT2_ET_FILE_NOT_FOUND: return ErrorCode::NotFound;
    case EXT2_ET_DIR_EXISTS:
    case EXT2_ET_FILE_EXISTS:
      return ErrorCode::Conflict;
    case EXT2_ET_SHORT_READ:
    case EXT2_ET_SHORT_WRITE:
      return ErrorCode::Io;
    case EXT2_ET_MMP_FAILED:
    case EXT2_ET_MMP_FSCK_ON:
      return ErrorCode::Busy;  // another host or fsck has it open
    default:
      return ErrorCode::Invalid;  // what is in the image: corrupt, unsupported feature, ...
  }
}

[[noreturn]] void fail(const std::string& what, errcode_t err) {
  throw HostError(what + ": " + ext2fs_api().error_message(err), code_of(err));
}

struct RawSuper {
  bool ext = false;
  uint32_t incompat = 0;
};

// Read with pread, not libext2fs: saying "not ext" or "needs recovery" must
// not depend on the library accepting (or opening for write) the image.
RawSuper read_super(const std::string& image) {
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw HostError::from_errno("opening " + image, errno);
  unsigned char sb[SUPERBLOCK_SIZE];
  ssize_t n = ::pread(fd, sb, sizeof sb, SUPERBLOCK_OFFSET);
  int err = errno;
  ::close(fd);
  if (n < 0) throw HostError::from_errno("reading the superblock of " + image, err);
  RawSuper s;
  if (n < static_cast<ssize_t>(sizeof sb)) return s;  // too small to hold one
  uint16_t magic;
  std::memcpy(&magic, sb + offsetof(ext2_super_block, s_magic), sizeof magic);
  std::memcpy(&s.incompat, sb + offsetof(ext2_super_block, s_feature_incompat), sizeof s.incompat);
  s.ext = le16toh(magic) == EXT2_SUPER_MAGIC;
  s.incompat = le32toh(s.incompat);
  return s;
}

// "/a/b" -> {"a", "b"}; refuses what is not absolute and normalized, so that
// a path means one place and cannot climb with "..".
std::vector<std::string> components(const std::string& path, const std::string& what) {
  std::vector<std::string> out;
  bool ok = path.size() > 1 && path[0] == '/' && path.back() != '/' &&
            path.find('\0') == std::string::npos;
  for (size_t at = 1; ok && at <= path.size();) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    std::string c = path.substr(at, end - at);
    ok = !c.empty() && c != "." && c != ".." && c.size() <= EXT2_NAME_LEN;
    out.push_back(c);
    at = end + 1;
  }
  if (!ok)
    throw HostError(what + ": the guest path must be absolute and normalized (no empty, '.' or "
                           "'..' components, no trailing '/')",
                    ErrorCode::Invalid);
  return out;
}

[[noreturn]] void refuse_recovery(const std::string& what, const std::string& image) {
  throw JournalNeedsRecovery(what + ": its journal needs recovery (the guest stopped without unmounting); "
                                    "boot the guest once or run `e2fsck -fy " + image + "` first",
                             ErrorCode::Invalid);
}

template <class Inode>
void set_owner(Inode& i, uint32_t uid, uint32_t gid) {
  i.i_uid = static_cast<__u16>(uid);
  i.i_uid_high = static_cast<__u16>(uid >> 16);  // a field macro (osd2.linux2.l_i_uid_high)
  i.i_gid = static_cast<__u16>(gid);
  i.i_gid_high = static_cast<__u16>(gid >> 16);
}

void check_mode(uint32_t mode, const std::string& what) {
  if (mode > 07777) throw HostError(what + ": mode must be permission bits only", ErrorCode::Invalid);
}

// One open filesystem. Closing flushes (bitmaps, group descriptors, the
// superblock; the I/O layer fsyncs). On an error path too: libext2fs keeps
// those in memory while inode and directory blocks already reached the disk,
// so dropping them would leave the filesystem inconsistent.
class Fs {
 public:
  Fs(const std::string& image, bool rw, const std::string& what) : api_(ext2fs_api()) {
    int flags = EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW | EXT2_FLAG_EXCLUSIVE : 0);
    errcode_t err = api_.ext2fs_open(image.c_str(), flags, 0, 0, api_.unix_io(), &fs_);
    if (err) {
      fs_ = nullptr;  // ext2fs_open freed it
      fail(what, err);
    }
  }
  Fs(const Fs&) = delete;
  Fs& operator=(const Fs&) = delete;
  ~Fs() {
    if (fs_ && api_.ext2fs_close2(fs_, 0) != 0) api_.ext2fs_free(fs_);
  }
  void close(const std::string& what) {
    ext2_filsys fs = fs_;
    fs_ = nullptr;
    if (errcode_t err = api_.ext2fs_close2(fs, 0)) {
      api_.ext2fs_free(fs);  // close2 does not free when the flush fails
      fail(what, err);
    }
  }
  ext2_filsys get() const { return fs_; }
  const Ext2fsLib& api() const { return api_; }

 private:
  const Ext2fsLib& api_;
  ext2_filsys fs_ = nullptr;
};

class Writer {
 public:
  Writer(Fs& fs, std::string image) : fs_(fs), api_(fs.api()), image_(std::move(image)) {}

  void dir(const GuestDir& d) {
    std::string what = "creating directory " + d.path + " in " + image_;
    auto parts = components(d.path, what);
    ext2_ino_t ino = walk(parts, parts.size(), what);
    ext2_inode_large inode = read(ino, what);
    inode.i_mode = static_cast<__u16>(LINUX_S_IFDIR | d.mode);
    set_owner(inode, d.uid, d.gid);
    inode.i_ctime = now_;
    write(ino, inode, what);
  }

  void file(const GuestFile& f) {
    std::string what = "writing " + f.path + " into " + image_;
    auto parts = components(f.path, what);
    ext2_ino_t dir = walk(parts, parts.size() - 1, what);
    const std::string& name = parts.back();
    ext2_ino_t old = 0;
    errcode_t err = api_.ext2fs_lookup(fs(), dir, name.c_str(), static_cast<int>(name.size()), nullptr, &old);
    if (err == 0) {
      remove(dir, name, old, what);  // lookup does not follow: a symlink is itself replaced
    } else if (err != EXT2_ET_FILE_NOT_FOUND) {
      fail(what, err);
    }
    create(dir, f, what);
  }

 private:
  ext2_filsys fs() const { return fs_.get(); }

  ext2_inode_large read(ext2_ino_t ino, const std::string& what) {
    ext2_inode_large inode{};
    if (errcode_t err = api_.ext2fs_read_inode_full(fs(), ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode))
      fail(what, err);
    return inode;
  }
  void write(ext2_ino_t ino, ext2_inode_large& inode, const std::string& what) {
    if (errcode_t err = api_.ext2fs_write_inode_full(fs(), ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode))
      fail(what, err);
  }

  // The directory at parts[0..n), made 0755 root:root where missing. An
  // existing symlink is followed by namei_follow from the fs root, so it
  // cannot lead outside the guest filesystem.
  ext2_ino_t walk(const std::vector<std::string>& parts, size_t n, const std::string& what) {
    ext2_ino_t cur = EXT2_ROOT_INO;
    std::string at;
    for (size_t i = 0; i < n; ++i) {
      const char* name = parts[i].c_str();
      at += "/" + parts[i];
      ext2_ino_t next = 0;
      errcode_t err = api_.ext2fs_namei_follow(fs(), EXT2_ROOT_INO, cur, name, &next);
      if (err == EXT2_ET_FILE_NOT_FOUND) {
        err = api_.ext2fs_mkdir(fs(), cur, 0, name);
        if (err == EXT2_ET_DIR_NO_SPACE) err = expand_then(cur, [&] { return api_.ext2fs_mkdir(fs(), cur, 0, name); });
        if (err == 0) err = api_.ext2fs_lookup(fs(), cur, name, static_cast<int>(parts[i].size()), nullptr, &next);
      }
      if (err) fail(what, err);
      if (!LINUX_S_ISDIR(read(next, what).i_mode))
        throw HostError(what + ": " + at + " in the guest is not a directory", ErrorCode::Conflict);
      cur = next;
    }
    return cur;
  }

  template <class Op>
  errcode_t expand_then(ext2_ino_t dir, Op op) {
    if (errcode_t err = api_.ext2fs_expand_dir(fs(), dir)) return err;
    return op();
  }

  // Unlinks `name` and, when that was its last link, frees its inode, its
  // blocks and its xattr block (as fuse2fs does), so e2fsck finds nothing.
  void remove(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, const std::string& what) {
    ext2_inode_large inode = read(ino, what);
    if (LINUX_S_ISDIR(inode.i_mode))
      throw HostError(what + ": it is a directory in the guest", ErrorCode::Conflict);
    if (errcode_t err = api_.ext2fs_unlink(fs(), dir, name.c_str(), ino, 0)) fail(what, err);
    inode.i_ctime = now_;
    if (inode.i_links_count > 0) --inode.i_links_count;
    if (inode.i_links_count == 0) {
      inode.i_dtime = now_;
      if (errcode_t err = api_.ext2fs_free_ext_attr(fs(), ino, &inode)) fail(what, err);
      // Not for a fast symlink: its target sits where block numbers would.
      if (api_.ext2fs_inode_has_valid_blocks2(fs(), reinterpret_cast<ext2_inode*>(&inode))) {
        if (errcode_t err = api_.ext2fs_punch(fs(), ino, reinterpret_cast<ext2_inode*>(&inode), nullptr, 0, ~0ULL))
          fail(what, err);
      }
      api_.ext2fs_inode_alloc_stats2(fs(), ino, -1, 0);
    }
    write(ino, inode, what);
  }

  void create(ext2_ino_t dir, const GuestFile& f, const std::string& what) {
    const std::string name = f.path.substr(f.path.rfind('/') + 1);
    ext2_ino_t ino = 0;
    if (errcode_t err = api_.ext2fs_new_inode(fs(), dir, LINUX_S_IFREG | f.mode, nullptr, &ino)) fail(what, err);
    auto link = [&] { return api_.ext2fs_link(fs(), dir, name.c_str(), ino, EXT2_FT_REG_FILE); };
    errcode_t err = link();
    if (err == EXT2_ET_DIR_NO_SPACE) err = expand_then(dir, link);
    if (err) fail(what, err);
    api_.ext2fs_inode_alloc_stats2(fs(), ino, +1, 0);

    ext2_inode inode{};
    inode.i_mode = static_cast<__u16>(LINUX_S_IFREG | f.mode);
    set_owner(inode, f.uid, f.gid);
    inode.i_atime = inode.i_ctime = inode.i_mtime = now_;
    inode.i_links_count = 1;
    if (ext2fs_has_feature_extents(fs()->super)) {
      // Opening an extent handle on an inode without EXT4_EXTENTS_FL writes
      // an empty extent header into i_block and sets the flag.
      ext2_extent_handle_t h = nullptr;
      if ((err = api_.ext2fs_extent_open2(fs(), ino, &inode, &h))) fail(what, err);
      api_.ext2fs_extent_free(h);
    }
    if ((err = api_.ext2fs_write_new_inode(fs(), ino, &inode))) fail(what, err);

    ext2_file_t file = nullptr;
    if ((err = api_.ext2fs_file_open(fs(), ino, EXT2_FILE_WRITE, &file))) fail(what, err);
    size_t done = 0;
    while (!err && done < f.content.size()) {
      unsigned int n = 0;  // ext2fs_file_write also sets i_size past the end
      err = api_.ext2fs_file_write(file, f.content.data() + done,
                                   static_cast<unsigned int>(std::min<size_t>(f.content.size() - done, 1 << 20)), &n);
      done += n;
    }
    errcode_t close_err = api_.ext2fs_file_close(file);  // writes the last block and the inode
    if (err || close_err) fail(what, err ? err : close_err);
  }

  Fs& fs_;
  const Ext2fsLib& api_;
  std::string image_;
  __u32 now_ = static_cast<__u32>(std::time(nullptr));
};

}  // namespace

bool is_ext_filesystem(const std::string& image) { return read_super(image).ext; }

bool needs_journal_recovery(const std::string& image) {
  RawSuper s = read_super(image);
  if (!s.ext) throw HostError(image + " holds no ext2/3/4 filesystem", ErrorCode::Invalid);
  return s.incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
}

std::optional<std::string> read_guest_file(const std::string& image, const std::string& path) {
  std::string what = "reading " + path + " from " + image;
  components(path, what);
  Fs fs(image, false, what);
  const Ext2fsLib& api = fs.api();
  ext2_ino_t ino = 0;
  errcode_t err = api.ext2fs_namei_follow(fs.get(), EXT2_ROOT_INO, EXT2_ROOT_INO, path.c_str(), &ino);
  if (err == EXT2_ET_FILE_NOT_FOUND || err == EXT2_ET_NO_DIRECTORY) return std::nullopt;
  if (err) fail(what, err);
  ext2_inode inode{};
  if ((err = api.ext2fs_read_inode_full(fs.get(), ino, &inode, sizeof inode))) fail(what, err);
  uint64_t size = EXT2_I_SIZE(&inode);
  if (!LINUX_S_ISREG(inode.i_mode)) throw HostError(what + ": not a regular file", ErrorCode::Invalid);
  if (size > kMaxRead) throw HostError(what + ": larger than 64 MiB", ErrorCode::Invalid);
  ext2_file_t file = nullptr;
  if ((err = api.ext2fs_file_open(fs.get(), ino, 0, &file))) fail(what, err);
  std::string out(size, '\0');
  size_t got = 0;
  while (!err && got < size) {
    unsigned int n = 0;
    err = api.ext2fs_file_read(file, out.data() + got, static_cast<unsigned int>(size - got), &n);
    if (n == 0) break;
    got += n;
  }
  api.ext2fs_file_close(file);
  if (err) fail(what, err);
  out.resize(got);
  return out;
}

void write_guest_files(const std::string& image, const std::vector<GuestDir>& dirs,
                       const std::vector<GuestFile>& files) {
  // Everything that can be refused is checked before the image is opened
  // for writing, so a refusal leaves it byte-identical.
  for (const auto& d : dirs) {
    std::string what = "creating directory " + d.path + " in " + image;
    components(d.path, what);
    check_mode(d.mode, what);
  }
  for (const auto& f : files) {
    std::string what = "writing " + f.path + " into " + image;
    components(f.path, what);
    check_mode(f.mode, what);
  }
  const std::string what = "writing guest files into " + image;
  RawSuper s = read_super(image);
  if (!s.ext) throw HostError(what + ": it holds no ext2/3/4 filesystem", ErrorCode::Invalid);
  if (s.incompat & EXT3_FEATURE_INCOMPAT_RECOVER) refuse_recovery(what, image);
  const Ext2fsLib& api = ext2fs_api();
  int mount_flags = 0;
  if (errcode_t err = api.ext2fs_check_if_mounted(image.c_str(), &mount_flags)) fail(what, err);
  if (mount_flags & EXT2_MF_MOUNTED)
    throw HostError(what + ": it is mounted on the host; unmount it first", ErrorCode::Busy);

  Fs fs(image, true, what);
  // Again, now that it is open: a guest may have been started in between.
  if (ext2fs_has_feature_journal_needs_recovery(fs.get()->super)) refuse_recovery(what, image);
  if (errcode_t err = api.ext2fs_read_bitmaps(fs.get())) fail(what, err);
  Writer w(fs, image);
  for (const auto& d : dirs) w.dir(d);
  for (const auto& f : files) w.file(f);
  fs.close("flushing " + image);
}

}  // namespace banger
