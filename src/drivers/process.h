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
  /// When set, a small reaper process (banger-launch, like podman's
  /// conmon) stays the parent of the started process and writes how it
  /// ended to this file ("exited 0 <unix ms>" or "signal 9 <unix ms>",
  /// written to a temp file and renamed). Detached processes have no parent
  /// that could report their exit status otherwise.
  std::string exit_status_path;
};

/// How a process ended, as the reaper recorded it.
struct ExitStatus {
  bool signaled = false;
  int code = 0;       ///< exit code, or the signal number
  int64_t at_ms = 0;  ///< unix milliseconds
  bool clean() const { return !signaled && code == 0; }
  std::string str() const;  ///< "exited 0", "killed by signal 9"
};
/// Parses the reaper's file content. Pure; nullopt when malformed.
std::optional<ExitStatus> parse_exit_status(const std::string& text);
/// Reads and parses `path`; nullopt when absent or malformed.
std::optional<ExitStatus> read_exit_status(const std::string& path);

/// A short-lived helper tool's run (mke2fs): its exit and what it printed.
struct ToolRun {
  int exit_code = -1;  ///< -1 when killed by a signal
  std::string output;  ///< stdout and stderr, cut to the last 64 KiB
};
/// Runs argv (argv[0] a path) to its end with stdin `stdin_path` and
/// default signals, capturing its output. Throws HostError when it cannot
/// start.
ToolRun run_tool(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null");

/// Starts a process in its own session that outlives banger (it is not our
/// child: banger-launch, spawned without copying banger, forks it and
/// exits or stays as its reaper). banger-launch is $BANGER_LAUNCH when set
/// (test programs, which are not installed beside it), else the one in the
/// folder of /proc/self/exe. Returns its identity once exec succeeded;
/// throws HostError when it could not be started.
ProcessIdentity spawn_detached(const SpawnOptions& opts);


/// Waits (pidfd poll) until the recorded process is gone, reaping it when it
/// is our child. True when gone or not ours (any more); false at timeout.
bool wait_for_exit(const ProcessIdentity& p, std::chrono::milliseconds timeout);

/// A process found by processes_under, with its first argument inside dir.
struct ProcessUnder {
  ProcessIdentity process;
  std::string arg;  ///< "/run/banger/vms/web/firecracker.sock"
};
/// Every live process with a command-line argument inside `dir` (equal to it
/// or under "dir/"), from one scan of /proc: a VM's hypervisor names its
/// sockets in the VM's run dir, so this finds one that no record holds.
/// Throws HostError when /proc cannot be read (never "none found").
std::vector<ProcessUnder> processes_under(const std::string& dir);

/// SIGKILL through a pidfd after checking identity; waits (bounded) until it
/// is gone. Absent is success.
void kill_process(const ProcessIdentity& p);
/// `sig` through a pidfd after checking identity (pid, start time, exe).
/// False when that process is gone (or the pid is another's now).
bool signal_process(const ProcessIdentity& p, int sig);

/// banger-launch's reaper writes a process's exit status (SpawnOptions::
/// exit_status_path) just after the process ends, so after kill_process or a
/// stop it may still be about to write. Polls (1 ms) up to `timeout` for the
/// file: whoever removes that folder next must not race the reaper. False
/// when it did not come (the reaper itself was killed).
bool wait_for_exit_status(const std::string& status_path, std::chrono::milliseconds timeout);

}  // namespace banger
