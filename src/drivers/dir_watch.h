// inotify over a manifest tree: the folder `banger watch` keeps the host
// equal to, and every folder under it. inotify does not recurse, so there is
// one watch per folder, added for new folders as they appear (and the new
// folder is rescanned: its own subfolders and files may predate the watch).
//
// Level-triggered by design: the watch only says "something under the tree
// changed"; the reconcile then reads the whole tree again. So a missed or
// reordered event cannot lose a change, and IN_Q_OVERFLOW simply means
// "changed" too. Names starting with '.' (.git and its internals, editor
// swap files) and files that are not *.yaml / *.yml (temp files of `sed -i`
// and editors) are ignored: their rename onto a manifest name is the event
// that counts. Folder symlinks are not followed, as the loader does not.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace banger {

/// What one inotify event means for the tree.
enum class DirEventKind {
  Ignore,    ///< hidden name, a file that is not a manifest, IN_IGNORED
  Manifest,  ///< a *.yaml / *.yml file was written, created, moved or deleted
  NewDir,    ///< a folder appeared: watch it (and what is under it)
  DirGone,   ///< a folder was removed or moved away: the wd map is stale
  SelfGone,  ///< the watched folder itself was deleted or moved
  Overflow,  ///< the kernel queue overflowed: events were lost
};

/// Classifies one event. Pure: `mask` is inotify_event::mask, `name` its
/// name ("" for events about the watched folder itself).
DirEventKind classify_dir_event(uint32_t mask, const std::string& name);

/// The outcome of draining the inotify queue.
struct DirEvents {
  bool changed = false;    ///< something that may change the manifests happened
  bool overflow = false;   ///< IN_Q_OVERFLOW: events were lost (changed is set too)
  bool root_gone = false;  ///< the root folder was deleted or moved away
  std::vector<std::string> paths;  ///< what changed, for debug logs (at most a few)
};

class DirWatch {
 public:
  /// Watches `root` (an existing folder) and every non-hidden folder under it.
  /// Throws HostError when inotify is unavailable or root cannot be watched.
  explicit DirWatch(std::string root);

  /// inotify fd (non-blocking) to poll for POLLIN.
  int fd() const { return fd_.get(); }
  /// Reads every pending event; watches new folders at once.
  DirEvents read();
  /// Walks the tree again: watches folders not yet watched, forgets those
  /// gone. Throws HostError when the root cannot be watched (gone, unreadable).
  void rescan();
  /// Folders watched now.
  size_t watched() const { return paths_.size(); }
  const std::string& root() const { return root_; }

 private:
  int add(const std::string& dir);  ///< -1 when the folder cannot be watched
  void watch_tree(const std::string& dir);

  std::string root_;
  UniqueFd fd_;
  int root_wd_ = -1;
  std::map<int, std::string> paths_;  ///< wd -> folder (may be stale after a folder rename; rescan fixes)
  bool stale_ = false;
};

}  // namespace banger
