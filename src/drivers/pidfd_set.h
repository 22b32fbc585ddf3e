// A pidfd per running VM process, so `banger watch` hears of an exit the
// moment it happens (poll reports POLLIN) instead of at the next resync.
// Works for processes that are not our children, such as VMs started by an
// earlier watcher or by `banger apply` (host-apis.md section 8).
//
// A recorded pid is trusted only when, after pidfd_open, its start time and
// exe still match the record (drivers/process.h): then the pidfd is known to
// refer to the recorded process, and a pid reused by something else is never
// watched as if it were a VM.
#pragma once

#include <poll.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "drivers/process.h"

namespace banger {

class PidfdSet {
 public:
  /// Replaces the set with `processes` (VM name -> recorded identity).
  /// Entries whose identity did not change keep their pidfd; a process that
  /// is already gone or is not the recorded one is left out. Returns the
  /// names of processes found gone that were never reported before (not by
  /// take_exited, not by an earlier reset): each death is reported once, so
  /// a VM that is meant to stay down does not wake the caller again and again.
  std::vector<std::string> reset(const std::map<std::string, ProcessIdentity>& processes);

  /// Appends one pollfd (POLLIN) per watched process.
  void add_pollfds(std::vector<pollfd>& fds) const;
  /// Names whose process has exited (checked without blocking); they are
  /// dropped from the set.
  std::vector<std::string> take_exited();

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ProcessIdentity id;
    UniqueFd fd;
  };
  std::map<std::string, Entry> entries_;
  /// Recorded processes already known to be gone: VM name -> (pid, start time).
  std::map<std::string, std::pair<int64_t, uint64_t>> dead_;
};

}  // namespace banger
