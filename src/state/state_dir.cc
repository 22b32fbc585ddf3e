#include "state/state_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "common/host_error.h"
#include "common/reader_group.h"

namespace banger {

namespace {

void make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) {
    // mkdir's mode is filtered by the umask; chmod makes it exactly `mode`.
    if (::chmod(path.c_str(), mode) != 0)
      throw HostError::from_errno("setting the mode of state dir " + path, errno);
    return;
  }
  if (errno == EEXIST) return;  // made by someone else meanwhile; checked below
  throw HostError(errno_message("creating state dir " + path, errno) +
                  "; run as root or choose another --state-dir", code_of_errno(errno));
}

}  // namespace

void ensure_state_dir(const std::string& dir) {
  if (dir.empty()) throw HostError("the state dir is empty; set --state-dir or BANGER_STATE_DIR");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw HostError::from_errno("checking state dir " + dir, errno);
    // Parents first, then the dir itself; only the last one must be private.
    for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1)) {
      std::string parent = dir.substr(0, pos);
      struct stat pst {};
      if (::stat(parent.c_str(), &pst) != 0) make_dir(parent, 0755);
    }
    make_dir(dir, 0700);
    if (::stat(dir.c_str(), &st) != 0)
      throw HostError::from_errno("checking state dir " + dir, errno);
  }
  if (!S_ISDIR(st.st_mode))
    throw HostError("state dir " + dir + " is not a directory; choose another --state-dir");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw HostError("state dir " + dir + " is group- or world-writable (mode " + mode +
                    "); others could change banger's records and VM disks: run chmod 700 " + dir);
  }
  // The one gate readers pass (reader_group.h): everything below keeps modes
  // that give the group only what reading commands need.
  open_gate_to_readers(dir);
}

}  // namespace banger
