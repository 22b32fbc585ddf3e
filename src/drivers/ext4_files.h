// Files written straight into a guest's ext2/3/4 disk (an image file or a
// block device) before its first boot, through libext2fs: no mount, no loop
// device, nothing the host kernel has to trust. The disk must not be in use
// by a running VM; a mounted one (directly or through a loop device) and a
// block device held open exclusively are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/host_error.h"

namespace banger {

struct GuestDir {
  std::string path;  ///< absolute, normalized, e.g. "/root/.ssh"
  uint32_t mode;     ///< permission bits only (<= 07777), e.g. 0700
  uint32_t uid;
  uint32_t gid;
};

struct GuestFile {
  std::string path;
  std::string content;
  uint32_t mode;  ///< permission bits only (<= 07777), e.g. 0600
  uint32_t uid;
  uint32_t gid;
};

/// Thrown by write_guest_files when the journal holds transactions that were
/// never replayed (the guest stopped without unmounting): writing under them
/// would be undone or corrupted by the replay at next mount. A HostError with
/// code Invalid, its own type so a caller can skip with a warning.
class JournalNeedsRecovery : public HostError {
 public:
  using HostError::HostError;
};

/// True when `image` (file or block device) holds an ext2/3/4 filesystem
/// (superblock magic), without changing it. Throws when it cannot be read.
bool is_ext_filesystem(const std::string& image);

/// True when the ext filesystem in `image` has the needs_recovery flag set
/// (see JournalNeedsRecovery). Throws when it is not an ext filesystem.
bool needs_journal_recovery(const std::string& image);

/// Reads a regular file of the guest, following symlinks inside the guest
/// filesystem (an absolute target is taken from the guest's root);
/// nullopt when absent. Used to read /etc/passwd to find a user's
/// uid/gid/home.
std::optional<std::string> read_guest_file(const std::string& image, const std::string& path);

/// Creates `dirs` (missing parents made 0755 root:root; an existing dir gets
/// the given mode/owner) and writes `files` (replacing existing ones; a
/// symlink at the final path is replaced by a regular file, never followed;
/// missing parents made 0755 root:root), then flushes and closes. Symlinks
/// among the parents are followed inside the guest filesystem. Not
/// all-or-nothing, but the filesystem is consistent (e2fsck clean) after an
/// error too. Refuses before changing anything: a bad path or mode, an image
/// that is not ext, a mounted one, or one whose journal needs recovery.
void write_guest_files(const std::string& image, const std::vector<GuestDir>& dirs,
                       const std::vector<GuestFile>& files);

}  // namespace banger
