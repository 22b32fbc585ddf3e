// The state dir holds the database, the lock and the VMs' disks: it must be
// private to the user running banger.
#pragma once

#include <string>

namespace banger {

/// Creates `dir` with mode 0700 when missing (parents 0755, like mkdir -p);
/// as root, where the group banger exists, makes it root:banger 02750
/// (reader_group.h).
/// Throws HostError when it is not a directory or is group/world-writable:
/// anyone who can write there could swap the database or a VM's disk.
void ensure_state_dir(const std::string& dir);

}  // namespace banger
