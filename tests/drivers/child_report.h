// Runs a scenario in a forked child and hands its text report back through a
// pipe: for tests that must change process-wide state the test binary keeps
// (a private mount namespace, a full tmpfs over a folder) and leave nothing
// behind when they end. The child's alarm turns a hang into a failure.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <string>

namespace banger::test {

struct ChildReport {
  int status = -1;   ///< waitpid status; -1 when the child could not be made
  std::string text;  ///< what the scenario returned, plus "error=..." if it threw
};

/// `scenario` in a forked child that exits 0 after writing what it returned
/// (an exception's what() as "error=WHAT\n"), killed by SIGALRM after
/// `timeout_s` seconds.
inline ChildReport run_in_child(const std::function<std::string()>& scenario, unsigned timeout_s) {
  ChildReport r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return r;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return r;
  }
  if (pid == 0) {
    ::close(p[0]);
    ::alarm(timeout_s);
    std::string text;
    try {
      text = scenario();
    } catch (const std::exception& e) {
      text += std::string("error=") + e.what() + "\n";
    }
    for (size_t off = 0; off < text.size();) {
      ssize_t n = ::write(p[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  ::close(p[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) r.text.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(pid, &r.status, 0);
  return r;
}

}  // namespace banger::test
