// Writing a small file whole or not at all, for banger's own files that
// something else reads while they change (a state export a cron job commits,
// the hosts files dnsmasq re-reads on SIGHUP).
#pragma once

#include <string>

namespace banger {

/// Writes `text` to a temp file beside `path` (mode 0644, whatever the
/// umask), fsyncs it and renames it over `path`: a reader sees the old file
/// or the new one, never half of one. Throws HostError "cannot write PATH:
/// ..." and leaves no temp file behind.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace banger
