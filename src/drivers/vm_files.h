// Files and binaries the hypervisor drivers (Firecracker, QEMU) share:
// finding an executable, the VM's private run dir, its control socket, and
// the tail of its log for error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace banger {

bool is_executable_file(const std::string& path);
/// `name` looked up on PATH (empty entries are not "."); absolute, or nullopt.
std::optional<std::string> search_path(const std::string& name);
/// A value with a slash is a path; a bare name is looked up on PATH, as a
/// shell would. Absolute, so it stays valid whatever the working directory of
/// later runs. Throws HostError naming `source` and `how_to_find`.
std::string resolve_executable(const std::string& value, const std::string& source,
                               const std::string& what, const std::string& how_to_find);
/// The last lines the process wrote since byte `from`: what a hypervisor
/// said before it died is usually the whole explanation. "" when none.
std::string log_tail(const std::string& log, std::uintmax_t from);
/// Hypervisors bind their control socket and never unlink it (Firecracker
/// refuses to start when it exists, issue #1716): remove before launch and
/// after exit. Absent is success.
void remove_socket(const std::string& sock);
/// Creates the VM's run dir (parents as needed) and makes it 0700: it holds
/// the control socket, which is full control over the VM.
void make_run_dir(const std::string& dir);
/// Where the reaper records how a VM's process ended: RUN_DIR/exit-status.
std::string exit_status_file(const std::string& run_dir);

}  // namespace banger
