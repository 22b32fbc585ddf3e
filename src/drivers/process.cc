#include "drivers/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/host_error.h"
#include "common/read_file.h"
#include "common/unique_fd.h"
#include "drivers/launch_protocol.h"

namespace banger {
namespace {

struct StatInfo {
  char state = '?';
  uint64_t start_time = 0;
};

// Field 3 (state) and field 22 (starttime) of a stat line. Everything up to
// the last ')' is "pid (comm)"; comm is attacker-chosen text and may itself
// hold ") " and spaces, so only the part after the last ')' is split.
std::optional<StatInfo> parse_stat(const std::string& line) {
  size_t close = line.rfind(')');
  if (close == std::string::npos || line.find('(') > close) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3
  std::string_view rest(line);
  rest.remove_prefix(close + 1);
  while (!rest.empty() && fields.size() < 20) {
    size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
  std::string_view st = fields[19];
  StatInfo info;
  info.state = fields[0][0];
  auto [ptr, ec] = std::from_chars(st.data(), st.data() + st.size(), info.start_time);
  if (ec != std::errc() || ptr != st.data() + st.size()) return std::nullopt;
  return info;
}

std::optional<StatInfo> read_stat(pid_t pid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return parse_stat(text->substr(0, text->find('\n')));
}

// "" when unreadable: the process is exiting (its mm is gone) or not visible.
std::string read_exe(pid_t pid) {
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// When the binary is replaced on disk (a firecracker upgrade) while the VM
// runs, the link reads "PATH (deleted)"; it is still the same process.
bool same_exe(std::string a, std::string b) {
  static const std::string kDeleted = " (deleted)";
  for (std::string* s : {&a, &b}) {
    if (s->size() > kDeleted.size() && s->ends_with(kDeleted))
      s->resize(s->size() - kDeleted.size());
  }
  return a == b;
}

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" (host-apis.md §8).
UniqueFd open_pidfd(pid_t pid, int& err) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  err = fd < 0 ? errno : 0;
  return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));
}

// Polls the pidfd until the process has exited; reaps it when it happens to
// be our child (e.g. banger is a subreaper), else init does. A non-child
// makes waitid fail with ECHILD, which is fine.
bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Rounded up: a timeout must never end before the time asked for.
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{pidfd, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (rc > 0) break;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
  siginfo_t si{};
  waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED | WNOHANG);
  return true;
}

using launch::Msg;

std::string describe_failure(const Msg& m, const SpawnOptions& opts) {
  const std::string& bin = opts.argv[0];
  switch (m.kind) {
    case launch::kForkFailed:
      return errno_message("fork before starting " + bin, m.value);
    case launch::kChdirFailed:
      return errno_message("chdir to " + opts.cwd + " for " + bin, m.value);
    case launch::kUsage:
      return "starting " + bin + ": banger-launch refused its arguments (this is a bug in banger)";
    default:
      return errno_message("exec " + bin, m.value) +
             (m.value == ENOENT   ? " (check the path of the binary)"
              : m.value == EACCES ? " (is it executable, and its folder searchable?)"
                                  : "");
  }
}

// Moves fd above 3 (still CLOEXEC), so that posix_spawn's dup2 onto 0-3
// cannot overwrite one source with another (banger may run with 0-2 closed).
void lift(UniqueFd& fd) {
  if (fd.get() > launch::kReportFd) return;
  int high = fcntl(fd.get(), F_DUPFD_CLOEXEC, launch::kReportFd + 1);
  if (high < 0) throw HostError::from_errno("fcntl F_DUPFD_CLOEXEC", errno);
  fd = UniqueFd(high);
}

// banger-launch sits beside the banger binary (the build tree; /usr/bin
// when installed, as podman's conmon does); test programs, which live
// elsewhere, name it with BANGER_LAUNCH. The binary's folder is looked up
// once, not once per VM started.
std::string launcher_path() {
  if (const char* env = std::getenv("BANGER_LAUNCH"); env && *env) return env;
  static const std::string beside_banger = [] {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : (self.parent_path() / "banger-launch").string();
  }();
  if (beside_banger.empty()) throw HostError("cannot find banger-launch: /proc/self/exe is unreadable");
  return beside_banger;
}

}  // namespace

std::string ExitStatus::str() const {
  return signaled ? "killed by signal " + std::to_string(code) : "exited " + std::to_string(code);
}

std::optional<ExitStatus> parse_exit_status(const std::string& text) {
  std::istringstream in(text);
  std::string kind;
  ExitStatus st;
  if (!(in >> kind >> st.code >> st.at_ms)) return std::nullopt;
  if (kind != "exited" && kind != "signal") return std::nullopt;
  st.signaled = kind == "signal";
  if (st.code < 0 || st.code > 255 || st.at_ms < 0) return std::nullopt;
  return st;
}

std::optional<ExitStatus> read_exit_status(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return std::nullopt;
  return parse_exit_status(*text);
}

std::optional<uint64_t> parse_start_time(const std::string& stat_line) {
  auto info = parse_stat(stat_line);
  if (!info) return std::nullopt;
  return info->start_time;
}

std::optional<ProcessIdentity> identify(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto st = read_stat(pid);
  // A zombie has exited; only its exit status waits to be collected.
  if (!st || st->state == 'Z' || st->state == 'X') return std::nullopt;
  return ProcessIdentity{pid, st->start_time, read_exe(pid)};
}

bool is_running(const ProcessIdentity& p) {
  auto now = identify(p.pid);
  if (!now || now->start_time != p.start_time) return false;
  // A reader without root cannot read root's /proc/PID/exe (EACCES); pid
  // and start time, to the clock tick, still name one process.
  if (now->exe.empty() && ::geteuid() != 0) return true;
  return same_exe(now->exe, p.exe);
}

ProcessIdentity spawn_detached(const SpawnOptions& opts) {
  if (opts.argv.empty()) throw HostError("spawn_detached: empty argv (this is a bug in banger)");
  const std::string& bin = opts.argv[0];
  const std::string launcher = launcher_path();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(launcher.c_str()));
  argv.push_back(const_cast<char*>(opts.exit_status_path.c_str()));
  argv.push_back(const_cast<char*>(opts.cwd.c_str()));
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull) throw HostError::from_errno("open /dev/null for " + bin, errno);
  // 0640: `banger logs` by the group banger reads it (the VM's run dir
  // hands its group down); fchmod, as the umask may have taken the bit.
  UniqueFd log(open(opts.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!log) {
    throw HostError(errno_message("open log file " + opts.log_path + " for " + bin, errno) +
                    " (check that its folder exists and is writable)", code_of_errno(errno));
  }
  ::fchmod(log.get(), 0640);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw HostError::from_errno("pipe for starting " + bin, errno);
  UniqueFd rd(fds[0]), wr(fds[1]);
  lift(devnull);
  lift(log);
  lift(wr);
  if (!opts.exit_status_path.empty()) unlink(opts.exit_status_path.c_str());  // a previous run's

  // A new session (no controlling terminal, no signals from banger's),
  // default signal dispositions and an empty mask: a VM must not inherit
  // what banger's watcher set up for itself.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, devnull.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, log.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, log.get(), 2);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), launch::kReportFd);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t mid = 0;
  int rc = posix_spawn(&mid, launcher.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw HostError(errno_message("start " + launcher + " to start " + bin, rc) +
                    (rc == ENOENT ? " (banger-launch belongs beside the banger binary; reinstall banger)" : ""));
  }
  wr.reset();
  // EOF arrives once the launcher exited, its reaper closed its copy, and
  // the VM process's exec closed its CLOEXEC one (or it died): then the
  // outcome is known.
  pid_t grand = 0;
  std::optional<Msg> failure;
  Msg m{};
  for (;;) {
    ssize_t n = read(rd.get(), &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof m)) break;
    if (m.kind == launch::kPid)
      grand = m.value;
    else
      failure = m;
  }
  int status = 0;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  // A process that was forked and then failed (exec, chdir) or exited at
  // once has a reaper about to write its exit status: the caller may remove
  // that folder next, so the write must be done first.
  auto await_reaper = [&] {
    if (!opts.exit_status_path.empty()) wait_for_exit_status(opts.exit_status_path, std::chrono::seconds(2));
  };
  if (failure) {
    // Reap the failed VM process if it was reparented to us (subreaper);
    // otherwise this is ECHILD at once.
    if (grand > 0) waitpid(grand, nullptr, 0);
    if (failure->kind == launch::kExecFailed || failure->kind == launch::kChdirFailed) await_reaper();
    throw HostError(describe_failure(*failure, opts));
  }
  if (grand <= 0) {
    throw HostError("starting " + bin + ": " + launcher + " ended (" +
                    (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                         : "exit " + std::to_string(WEXITSTATUS(status))) +
                    ") before starting it");
  }
  auto id = identify(grand);
  if (!id) {
    if (grand > 0) waitpid(grand, nullptr, WNOHANG);
    await_reaper();
    throw HostError(bin + " started but exited at once; see its output in " + opts.log_path);
  }
  return *id;
}

bool wait_for_exit(const ProcessIdentity& p, std::chrono::milliseconds timeout) {
  if (p.pid <= 0) return true;
  int err = 0;
  UniqueFd pidfd = open_pidfd(p.pid, err);
  if (!pidfd) {
    if (err == ESRCH) return true;
    throw HostError::from_errno("pidfd_open for process " + std::to_string(p.pid), err);
  }
  // Checked after the open: if the start time matches now, the pidfd refers
  // to the recorded process (a recycled pid has a later start time).
  auto st = read_stat(p.pid);
  if (!st || st->start_time != p.start_time) return true;
  return wait_pidfd(pidfd.get(), timeout);
}

void kill_process(const ProcessIdentity& p) {
  if (p.pid <= 0) return;
  int err = 0;
  UniqueFd pidfd = open_pidfd(p.pid, err);
  if (!pidfd) {
    if (err == ESRCH) return;
    throw HostError::from_errno("pidfd_open for process " + std::to_string(p.pid), err);
  }
  auto st = read_stat(p.pid);
  if (!st || st->start_time != p.start_time) return;  // gone, and the pid reused
  if (st->state != 'Z') {
    // Same pid and start time is the same task; an unreadable exe means it is
    // already exiting. A different exe means it exec'd something that is not
    // the VM we recorded: leave it alone.
    std::string exe = read_exe(p.pid);
    if (!exe.empty() && !same_exe(exe, p.exe)) return;
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0 && errno != ESRCH) {
      throw HostError(
          errno_message("SIGKILL to process " + std::to_string(p.pid) + " (" + p.exe + ")", errno));
    }
  }
  if (!wait_pidfd(pidfd.get(), std::chrono::seconds(5))) {
    throw HostError("process " + std::to_string(p.pid) + " (" + p.exe +
                    ") did not exit within 5 s of SIGKILL; it is probably stuck in the kernel "
                    "(state D): check /proc/" +
                    std::to_string(p.pid) + "/stack and retry");
  }
}

bool signal_process(const ProcessIdentity& p, int sig) {
  if (p.pid <= 0) return false;
  int err = 0;
  UniqueFd pidfd = open_pidfd(p.pid, err);
  if (!pidfd) return false;
  // Checked after opening the pidfd: it pins the task, so the signal cannot
  // reach a process that took the pid since.
  auto st = read_stat(p.pid);
  if (!st || st->start_time != p.start_time || st->state == 'Z') return false;
  std::string exe = read_exe(p.pid);
  if (exe.empty() || !same_exe(exe, p.exe)) return false;
  if (syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return false;
    throw HostError(errno_message("signal " + std::to_string(sig) + " to process " + std::to_string(p.pid), errno));
  }
  return true;
}

ToolRun run_tool(const std::vector<std::string>& argv, const std::string& stdin_path) {
  if (argv.empty()) throw HostError("run_tool: empty argv (this is a bug in banger)");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw HostError::from_errno("pipe for " + argv[0], errno);
  UniqueFd rd(fds[0]), wr(fds[1]);
  UniqueFd devnull(open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!devnull && stdin_path != "/dev/null") throw HostError::from_errno("opening " + stdin_path, errno);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  if (devnull) posix_spawn_file_actions_adddup2(&actions, devnull.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 2);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw HostError::from_errno("starting " + argv[0], rc);
  wr.reset();
  ToolRun out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.output.append(buf, static_cast<size_t>(n));
    if (out.output.size() > (128u << 10)) out.output.erase(0, out.output.size() - (64u << 10));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

bool wait_for_exit_status(const std::string& status_path, std::chrono::milliseconds timeout) {
  // The reaper renames its file into place within moments of the process's
  // end: a 1 ms poll finds it at once (an inotify watch costs 10 ms to close).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  struct stat st;
  while (::stat(status_path.c_str(), &st) != 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::vector<ProcessUnder> processes_under(const std::string& dir) {
  const std::string prefix = dir + "/";
  std::vector<ProcessUnder> out;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc", ec);
  if (ec) throw HostError("reading /proc: " + ec.message(), ErrorCode::Io);
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) throw HostError("reading /proc: " + ec.message(), ErrorCode::Io);
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // Gone since the scan: read_small_file says so instead of throwing.
    const std::string cmdline = read_small_file(it->path() / "cmdline").value_or("");
    std::optional<std::string_view> inside;
    for (size_t at = 0; at < cmdline.size() && !inside;) {
      size_t end = cmdline.find('\0', at);
      if (end == std::string::npos) end = cmdline.size();
      std::string_view arg(cmdline.data() + at, end - at);
      if (arg == dir || arg.substr(0, prefix.size()) == prefix) inside = arg;
      at = end + 1;
    }
    if (!inside) continue;
    // Gone since the scan (or a zombie): nothing to find.
    if (auto p = identify(static_cast<pid_t>(std::stol(name)))) out.push_back({*p, std::string(*inside)});
  }
  return out;
}

}  // namespace banger
