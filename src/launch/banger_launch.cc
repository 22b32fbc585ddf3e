// banger-launch: starts one VM process for banger and stays as its reaper.
//
// banger is a large, multithreaded process; forking it to start a VM copies
// its page tables (25+ MiB) once per fork, and starting a VM took three
// forks (a new session, the reaper, the VM). At a thousand VMs that was most
// of an apply's system time. banger now posix_spawn's this small static
// program instead (vfork semantics: nothing copied), and the forks happen
// here, in a process of a few hundred KiB. A thousand reapers also cost the
// host that much less memory, as podman's conmon does for containers.
//
//   banger-launch STATUS_PATH CWD BINARY [ARGS...]
//
// Its command line is blanked at once (see main): `ps` shows only its path.
// Started by banger in a new session with default signal dispositions and
// an empty mask; fd 0 is /dev/null, 1 and 2 the VM's log, 3 the report pipe
// (drivers/launch_protocol.h). STATUS_PATH "" = no reaper: exit once the VM
// process runs. CWD "" = unchanged. Only async-signal-safe calls after a
// fork, although nothing here is multithreaded: the code stays correct if
// it ever is.
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "launch_protocol.h"

namespace {

using banger::launch::kReportFd;
using banger::launch::Msg;

void send_msg(int kind, int value) {
  Msg m{kind, value};
  [[maybe_unused]] ssize_t n = write(kReportFd, &m, sizeof m);
}

// Appends the decimal digits of v to buf at len.
void put_number(char* buf, size_t& len, int64_t v) {
  char tmp[24];
  size_t n = 0;
  bool neg = v < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) buf[len++] = '-';
  while (n) buf[len++] = tmp[--n];
}

// Waits for the VM process and records how it ended ("exited 0 <unix ms>"
// or "signal 9 <unix ms>"), through a temp file and a rename so that a
// reader never sees half of it. Every descriptor is closed first: nothing
// of banger's (the pipe, the log) is held while the VM runs.
[[noreturn]] void reap(pid_t child, const char* path) {
  close_range(0, ~0U, 0);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) _exit(1);
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  char buf[96];
  size_t len = 0;
  const char* what = WIFSIGNALED(status) ? "signal " : "exited ";
  for (const char* p = what; *p; ++p) buf[len++] = *p;
  put_number(buf, len, WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  buf[len++] = ' ';
  put_number(buf, len, static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000);
  buf[len++] = '\n';
  char tmp[4096];
  size_t n = 0;
  for (const char* p = path; *p && n + 5 < sizeof tmp; ++p) tmp[n++] = *p;
  for (const char* p = ".tmp"; *p; ++p) tmp[n++] = *p;
  tmp[n] = 0;
  // 0640: `banger get` by the group banger reads how the VM ended (the run
  // dir hands its group down).
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd >= 0) {
    fchmod(fd, 0640);
    bool ok = write(fd, buf, len) == static_cast<ssize_t>(len);
    close(fd);
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
  }
  _exit(0);
}

// posix_spawn resets what banger handles, but glibc leaves its own two
// internal signals (32, 33) ignored in the child, and an ignored signal
// survives exec: the VM would inherit that. glibc's sigaction refuses to
// touch them, so the kernel's is called directly (SIG_DFL needs no
// restorer).
void default_all_signals() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < _NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace banger::launch;
  if (argc < 4) {
    send_msg(kUsage, EINVAL);
    return 2;
  }
  // banger finds a VM's hypervisor by a command-line argument inside the
  // VM's run dir (processes_under, after a crash between start and
  // record); this process's arguments name that dir too, but it is not a
  // hypervisor. So it keeps copies and blanks the originals, which are
  // what /proc/PID/cmdline shows, before anything else: its cmdline reads
  // as just its own path.
  char* status_path = strdup(argv[1]);
  char* cwd = strdup(argv[2]);
  char** command = static_cast<char**>(calloc(static_cast<size_t>(argc) - 2, sizeof(char*)));
  if (!status_path || !cwd || !command) return 127;
  for (int i = 3; i < argc; ++i) {
    command[i - 3] = strdup(argv[i]);
    if (!command[i - 3]) return 127;
  }
  char* last = argv[argc - 1];
  memset(argv[1], 0, static_cast<size_t>(last + strlen(last) - argv[1]));
  // Anything banger left open by mistake (a descriptor without CLOEXEC)
  // stops here; the report pipe must not reach the VM either.
  close_range(kReportFd + 1, ~0U, 0);
  default_all_signals();
  // If banger is killed before it reads the report, a write to the pipe
  // must fail with EPIPE, not kill the reaper with SIGPIPE: the VM runs on,
  // and its exit must still be recorded. The VM process gets the default
  // back before exec.
  signal(SIGPIPE, SIG_IGN);
  if (fcntl(kReportFd, F_SETFD, FD_CLOEXEC) != 0) return 127;
  const bool reaper = status_path[0] != 0;
  if (reaper) {
    // The reaper must not be banger's child, or banger would have to wait
    // for it: the first process exits, its child carries on (and init
    // adopts it).
    pid_t r = fork();
    if (r < 0) {
      send_msg(kForkFailed, errno);
      return 1;
    }
    if (r > 0) return 0;
  }
  pid_t vm = fork();
  if (vm < 0) {
    send_msg(kForkFailed, errno);
    _exit(1);
  }
  if (vm == 0) {
    signal(SIGPIPE, SIG_DFL);
    // What the VM's process makes is root's alone: its API socket is full
    // control over the VM, and its run dir lets the group banger search it
    // (for the console log) without listing it.
    umask(077);
    if (cwd[0] && chdir(cwd) != 0) {
      send_msg(kChdirFailed, errno);
      _exit(127);
    }
    execv(command[0], command);
    send_msg(kExecFailed, errno);
    _exit(127);
  }
  send_msg(kPid, vm);
  if (!reaper) _exit(0);
  reap(vm, status_path);
}
