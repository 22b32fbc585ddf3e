#include "drivers/vm_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/host_error.h"
#include "common/reader_group.h"

namespace banger {

namespace fs = std::filesystem;

bool is_executable_file(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

std::optional<std::string> search_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;  // an empty entry means ".": not searched on purpose
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return fs::absolute(candidate).lexically_normal().string();
  }
  return std::nullopt;
}

// A value with a slash is a path; a bare name is looked up on PATH, as a
// shell would. The result is absolute so that it stays valid whatever the
// working directory of later runs.
std::string resolve_executable(const std::string& value, const std::string& source,
                               const std::string& what, const std::string& how_to_find) {
  if (value.find('/') == std::string::npos) {
    if (auto found = search_path(value)) return *found;
  } else if (is_executable_file(value)) {
    return fs::absolute(value).lexically_normal().string();
  }
  throw HostError(what + " binary \"" + value + "\" (from " + source +
                  ") is not an executable file; fix it, or " + how_to_find,
                  ErrorCode::NotFound);
}

// The last lines the process wrote since `from`: what Firecracker said
// before it died is usually the whole explanation.
std::string log_tail(const std::string& log, std::uintmax_t from) {
  std::ifstream in(log);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(from));
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > 300) line = line.substr(0, 300) + "...";
    lines.push_back(line);
    if (lines.size() > 10) lines.pop_front();
  }
  if (lines.empty()) return "";
  std::string out = "\n  last lines of " + log + ":";
  for (const auto& l : lines) out += "\n    " + l;
  return out;
}

void remove_socket(const std::string& sock) {
  if (unlink(sock.c_str()) != 0 && errno != ENOENT) {
    throw HostError::from_errno("remove control socket " + sock, errno);
  }
}

void make_run_dir(const std::string& dir) {
  std::error_code ec;
  const std::string parent = fs::path(dir).parent_path().string();
  fs::create_directories(parent, ec);
  if (ec) throw HostError("create " + parent + ": " + ec.message());
  // RUN/vms is the second gate for readers without root (reader_group.h).
  open_gate_to_readers(parent);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw HostError::from_errno("create " + dir, errno);
  // Search but no listing for the group, and the setgid bit hands the group
  // to the console log and exit status (0640). The API socket is full
  // control over the VM: the hypervisor makes it under umask 077
  // (banger-launch). An existing folder may have looser permissions.
  if (chmod(dir.c_str(), 02710) != 0) throw HostError::from_errno("chmod 02710 " + dir, errno);
}


std::string exit_status_file(const std::string& run_dir) { return run_dir + "/exit-status"; }

}  // namespace banger
