// Who may read banger's state without root: the members of the group
// `banger` (the .deb makes it). Two folders are the gates: the state dir and
// RUN/vms. As root, banger makes each root:banger with mode 02750 when the
// group exists (the setgid bit hands the group down to what is made inside),
// and leaves them root-only otherwise. Inside the gates, modes give the group
// only what `get`, `logs`, `diff` and `state export` read (the database, the
// console logs, exit statuses, and stat() of disks); guest keys and disks
// stay 0600.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <optional>
#include <string>

namespace banger {

inline constexpr const char* kReaderGroup = "banger";

/// The group's id, looked up on every call (a test's private /etc/group, a
/// group added while the watcher runs); nullopt when there is no such group.
std::optional<gid_t> reader_group();

/// As root, with the group present: `dir` becomes group banger, mode 02750.
/// Otherwise nothing changes. Throws HostError when chown/chmod fail.
void open_gate_to_readers(const std::string& dir);

/// As root, with the group present: each of `paths` becomes group banger
/// with `mode` (files made before their folder carried the setgid bit).
/// Absent paths are skipped.
void share_with_readers(std::initializer_list<std::string> paths, mode_t mode);

}  // namespace banger
