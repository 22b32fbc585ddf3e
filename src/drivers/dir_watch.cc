#include "drivers/dir_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "common/host_error.h"

namespace fs = std::filesystem;

namespace banger {

namespace {

// Editors' and git's writes all end in one of these on the final name:
// CLOSE_WRITE (in place), MOVED_TO (temp file renamed), CREATE, DELETE.
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |
                           IN_EXCL_UNLINK;

// The paths of a DirEvents are for debug logs only; a big checkout needs no
// thousand-line list.
constexpr size_t kMaxPaths = 8;

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

bool manifest_name(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

}  // namespace

DirEventKind classify_dir_event(uint32_t mask, const std::string& name) {
  if (mask & IN_Q_OVERFLOW) return DirEventKind::Overflow;
  if (mask & IN_IGNORED) return DirEventKind::Ignore;
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) return DirEventKind::SelfGone;
  if (name.empty() || hidden(name)) return DirEventKind::Ignore;
  if (mask & IN_ISDIR) {
    if (mask & (IN_CREATE | IN_MOVED_TO)) return DirEventKind::NewDir;
    if (mask & (IN_DELETE | IN_MOVED_FROM)) return DirEventKind::DirGone;
    return DirEventKind::Ignore;
  }
  return manifest_name(name) ? DirEventKind::Manifest : DirEventKind::Ignore;
}

DirWatch::DirWatch(std::string root) : root_(std::move(root)) {
  fd_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd_) throw HostError::from_errno("inotify_init1", errno);
  rescan();
}

int DirWatch::add(const std::string& dir) {
  int wd = inotify_add_watch(fd_.get(), dir.c_str(), kMask);
  if (wd >= 0) paths_[wd] = dir;
  return wd;
}

// Folders only, not following folder symlinks (the loader does not either).
// A folder that vanishes or cannot be read while walking is skipped: the
// reconcile reads the tree itself and reports what it cannot read.
void DirWatch::watch_tree(const std::string& dir) {
  if (add(dir) < 0) return;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (hidden(it->path().filename().string())) continue;
    if (it->is_symlink(type_ec) || !it->is_directory(type_ec)) continue;
    watch_tree(it->path().string());
  }
}

void DirWatch::rescan() {
  std::map<int, std::string> before = std::move(paths_);
  paths_.clear();
  // Adding an already-watched folder returns its existing wd, so this only
  // adds what is new; what is left in `before` is no longer in the tree.
  int wd = inotify_add_watch(fd_.get(), root_.c_str(), kMask);
  if (wd < 0) {
    int err = errno;
    paths_ = std::move(before);
    throw HostError(errno_message("watching " + root_, err) +
                    (err == ENOENT || err == ENOTDIR ? " (the folder is gone)" : ""), code_of_errno(err));
  }
  root_wd_ = wd;
  paths_[wd] = root_;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (hidden(it->path().filename().string())) continue;
    if (it->is_symlink(type_ec) || !it->is_directory(type_ec)) continue;
    watch_tree(it->path().string());
  }
  for (const auto& [old_wd, path] : before) {
    if (!paths_.count(old_wd)) inotify_rm_watch(fd_.get(), old_wd);  // EINVAL when already gone: fine
  }
  stale_ = false;
}

DirEvents DirWatch::read() {
  DirEvents out;
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      std::string name = ev->len ? std::string(ev->name) : std::string();
      auto dir = paths_.find(ev->wd);
      std::string path = dir == paths_.end() ? name : (name.empty() ? dir->second : dir->second + "/" + name);
      switch (classify_dir_event(ev->mask, name)) {
        case DirEventKind::Ignore:
          if (ev->mask & IN_IGNORED) paths_.erase(ev->wd);
          continue;
        case DirEventKind::Overflow:
          out.overflow = true;
          stale_ = true;
          break;
        case DirEventKind::Manifest: break;
        case DirEventKind::NewDir:
          if (dir != paths_.end()) watch_tree(path);
          break;
        case DirEventKind::DirGone: stale_ = true; break;
        case DirEventKind::SelfGone:
          if (ev->wd == root_wd_) out.root_gone = true;
          stale_ = true;
          break;
      }
      out.changed = true;
      if (out.paths.size() < kMaxPaths && !path.empty()) out.paths.push_back(path);
    }
  }
  if (stale_ && !out.root_gone) {
    try {
      rescan();
    } catch (const HostError&) {
      out.root_gone = true;  // it went between the event and now
    }
  }
  return out;
}

}  // namespace banger
