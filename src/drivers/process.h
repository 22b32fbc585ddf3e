// Process identity that survives pid reuse: a pid is "ours" only when its
// start time (field 22 of /proc/PID/stat) and exe still match the record.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace banger {

struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_time = 0;  ///< clock ticks since boot
  std::string exe;          ///< readlink /proc/PID/exe at spawn
};

/// Reads pid's start time and exe; nullopt when it is gone (or a zombie).
std::optional<ProcessIdentity> identify(pid_t pid);
/// True when the recorded process is still that same process and alive.
bool is_running(const ProcessIdentity& p);
/// Parses a /proc/PID/stat line: field 22, counted after the last ')' since
/// comm may hold spaces and parentheses. Pure; nullopt on a malformed line.
std::optional<uint64_t> parse_start_time(const std::string& stat_line);

struct SpawnOptions {
  std::vector<std::string> argv;  ///< argv[0] is the executable path
  std::string log_path;           ///< stdout and stderr are appended here
  std::string cwd;                ///< "" = unchanged
};

/// Starts a process in its own session that outlives banger (it is not our
/// child after we exit: double fork). Returns its identity once exec
/// succeeded; throws HostError when it could not be started.
ProcessIdentity spawn_detached(const SpawnOptions& opts);

/// Waits (pidfd poll) until the recorded process is gone, reaping it when it
/// is our child. True when gone or not ours (any more); false at timeout.
bool wait_for_exit(const ProcessIdentity& p, std::chrono::milliseconds timeout);

/// SIGKILL through a pidfd after checking identity; waits (bounded) until it
/// is gone. Absent is success.
void kill_process(const ProcessIdentity& p);

}  // namespace banger
