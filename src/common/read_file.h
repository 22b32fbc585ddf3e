// Reading a small file whole, for /proc, /sys and banger's own status files.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace banger {

/// The file's bytes, or nullopt when it cannot be opened or read. Reads with
/// read(2), never through a stream: a /proc/PID file of a process that exits
/// mid-read fails with ESRCH, and libstdc++'s filebuf throws from underflow
/// when read through an istreambuf_iterator. A vanished process is an
/// ordinary answer here, not an exception. Stops after `limit` bytes.
std::optional<std::string> read_small_file(const std::string& path, size_t limit = 1 << 20);

}  // namespace banger
