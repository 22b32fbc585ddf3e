// Last-resort cleanup for tests that start VM processes: whatever a failed
// test left running under its temp dir is killed, so nothing outlives it.
#pragma once

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace banger::test {

/// SIGKILLs every process whose command line mentions `dir`.
inline int kill_processes_mentioning(const std::string& dir) {
  int killed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmdline.find(dir) != std::string::npos && ::kill(std::stoi(pid), SIGKILL) == 0) ++killed;
  }
  return killed;
}

/// Alive, and not a zombie: VM processes are not our children, so one that
/// exited may wait a while for init to reap it.
inline bool process_alive(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return false;
  return stat.substr(stat.rfind(')') + 2, 1) != "Z";
}

}  // namespace banger::test
