#include "drivers/oci_flatten.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <set>

#include "common/host_error.h"
#include "drivers/archive_lib.h"

namespace banger {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

std::vector<std::string_view> components(std::string_view p) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= p.size()) {
    size_t end = p.find('/', at);
    if (end == std::string_view::npos) end = p.size();
    if (end > at) out.push_back(p.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string parent_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

class Unpacker {
 public:
  Unpacker(std::string root, uint64_t max_bytes) : root_(std::move(root)), max_bytes_(max_bytes) {}

  void layer(const LayerFile& l, size_t index) {
    const ArchiveLib& a = archive_api();
    where_ = "layer " + std::to_string(index + 1) + " (" + l.digest + ")";
    std::unique_ptr<archive, decltype(a.archive_read_free)> in(a.archive_read_new(), a.archive_read_free);
    std::unique_ptr<archive, decltype(a.archive_write_free)> out(a.archive_write_disk_new(), a.archive_write_free);
    if (!in || !out) throw HostError(where_ + ": libarchive could not start (out of memory?)");
    a.archive_read_support_filter_gzip(in.get());
    a.archive_read_support_filter_zstd(in.get());
    a.archive_read_support_format_tar(in.get());
    // Owners by number (no lookup in the host's passwd); every path is
    // checked here first, and libarchive also refuses "..", and writing
    // through a symlink, as a second line.
    a.archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                    ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    if (a.archive_read_open_filename(in.get(), l.path.c_str(), 1 << 16) != ARCHIVE_OK) {
      throw HostError(where_ + ": not a readable tar (plain, gzip or zstd): " + error(in.get()), ErrorCode::Invalid);
    }
    std::set<std::string> written;  // this layer's paths: an opaque folder keeps them
    for (;;) {
      archive_entry* e = nullptr;
      int rc = a.archive_read_next_header(in.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw HostError(where_ + ": not a readable tar: " + error(in.get()));
      ++stats_.entries;
      const char* raw = a.archive_entry_pathname(e);
      const std::string shown = raw ? raw : "";
      auto clean = clean_layer_path(shown);
      if (!clean) fail(shown, "has a \"..\" component, which would leave the image's root");
      if (clean->empty()) continue;  // "./": the root's own entry
      const std::string dir = parent_of(*clean), base = base_of(*clean);
      check_real_parents(dir, shown);
      if (base == kOpaque) {
        opaque(dir, written);
        continue;
      }
      if (base.compare(0, kWhiteout.size(), kWhiteout) == 0) {
        const std::string gone = (dir.empty() ? "" : dir + "/") + base.substr(kWhiteout.size());
        std::error_code ec;
        fs::remove_all(root_ + "/" + gone, ec);
        if (ec) fail(shown, "whiteout of " + gone + " failed: " + ec.message());
        continue;
      }
      if (const char* hl = a.archive_entry_hardlink(e)) {
        auto target = clean_layer_path(hl);
        if (!target || target->empty()) fail(shown, std::string("is a hard link to \"") + hl + "\", outside the image's root");
        check_real_parents(parent_of(*target), shown);
        struct stat st;
        if (::lstat((root_ + "/" + *target).c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
          fail(shown, "is a hard link to " + *target + ", which is not a file unpacked before it");
        }
        const std::string abs_target = root_ + "/" + *target;
        a.archive_entry_set_hardlink(e, abs_target.c_str());
      } else if (a.archive_entry_filetype(e) == AE_IFLNK) {
        const char* t = a.archive_entry_symlink(e);
        if (!t || !symlink_stays_inside(*clean, t)) {
          fail(shown, std::string("is a symlink to \"") + (t ? t : "") + "\", which climbs above the image's root");
        }
      }
      const int64_t size = a.archive_entry_size(e);
      if (size < 0 || static_cast<uint64_t>(size) > max_bytes_ || stats_.bytes + static_cast<uint64_t>(size) > max_bytes_) {
        fail(shown, "makes the image more than " + std::to_string(max_bytes_) +
                        " bytes (a decompression bomb, or spec.size is too small)");
      }
      const std::string abs = root_ + "/" + *clean;
      a.archive_entry_set_pathname(e, abs.c_str());
      rc = a.archive_write_header(out.get(), e);
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail(shown, "cannot be written: " + error(out.get()));
      written.insert(*clean);
      copy_data(in.get(), out.get(), shown);
      rc = a.archive_write_finish_entry(out.get());
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail(shown, "cannot be written: " + error(out.get()));
    }
  }

  FlattenStats stats() const { return stats_; }

 private:
  static std::string error(archive* ar) {
    const char* s = archive_api().archive_error_string(ar);
    return s ? s : "unknown libarchive error";
  }

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw HostError(where_ + ": " + path + " " + why, ErrorCode::Invalid);
  }

  // A whiteout or a write under a folder that is a symlink would act on what
  // the link points to, which may be outside the root.
  void check_real_parents(const std::string& dir, const std::string& shown) const {
    std::string at = root_;
    for (std::string_view c : components(dir)) {
      at += "/";
      at += c;
      struct stat st;
      if (::lstat(at.c_str(), &st) != 0) return;  // not there yet: libarchive makes it a real folder
      if (S_ISLNK(st.st_mode)) {
        fail(shown, "is inside " + at.substr(root_.size() + 1) + ", which a lower layer made a symlink (writing "
                    "through a symlink is refused)");
      }
    }
  }

  void opaque(const std::string& dir, const std::set<std::string>& written) {
    const std::string folder = dir.empty() ? root_ : root_ + "/" + dir;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string rel = (dir.empty() ? "" : dir + "/") + it->path().filename().string();
      if (written.count(rel)) continue;
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }

  void copy_data(archive* in, archive* out, const std::string& shown) {
    const ArchiveLib& a = archive_api();
    const void* buf = nullptr;
    size_t n = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = a.archive_read_data_block(in, &buf, &n, &offset);
      if (rc == ARCHIVE_EOF) return;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail(shown, "cannot be read: " + error(in));
      stats_.bytes += n;
      if (stats_.bytes > max_bytes_) {
        fail(shown, "makes the image more than " + std::to_string(max_bytes_) +
                        " bytes (a decompression bomb, or spec.size is too small)");
      }
      if (a.archive_write_data_block(out, buf, n, offset) != ARCHIVE_OK) fail(shown, "cannot be written: " + error(out));
    }
  }

  std::string root_;
  uint64_t max_bytes_;
  std::string where_;
  FlattenStats stats_;
};

}  // namespace

std::optional<std::string> clean_layer_path(std::string_view path) {
  std::string out;
  for (std::string_view c : components(path)) {
    if (c == ".") continue;
    if (c == "..") return std::nullopt;
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

bool symlink_stays_inside(std::string_view link, std::string_view target) {
  if (!target.empty() && target.front() == '/') return true;
  if (target.empty()) return false;
  long depth = static_cast<long>(components(link).size()) - 1;  // the link's folder
  for (std::string_view c : components(target)) {
    if (c == ".") continue;
    if (c == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

FlattenStats flatten_layers(const std::vector<LayerFile>& layers, const std::string& root, uint64_t max_bytes) {
  std::error_code ec;
  // libarchive checks every folder of a path for symlinks, the root's own
  // ones included: start from the root's real path.
  const std::string real = fs::canonical(root, ec).string();
  if (ec) throw HostError("unpacking into " + root + ": " + ec.message());
  Unpacker u(real, max_bytes);
  for (size_t i = 0; i < layers.size(); ++i) u.layer(layers[i], i);
  return u.stats();
}

}  // namespace banger
