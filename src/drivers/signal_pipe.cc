#include "drivers/signal_pipe.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "common/host_error.h"

namespace banger {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_hup{false};
std::atomic<int> g_write_fd{-1};
struct sigaction g_old_term, g_old_int, g_old_hup;

void on_signal(int sig) {
  int saved = errno;  // a handler must not clobber the interrupted code's errno
  if (sig == SIGHUP) {
    g_hup = true;
  } else {
    g_stop = true;
  }
  int fd = g_write_fd.load();
  if (fd >= 0) {
    char c = 0;
    [[maybe_unused]] ssize_t n = ::write(fd, &c, 1);  // full pipe: a wake-up is pending anyway
  }
  errno = saved;
}

}  // namespace

SignalPipe::SignalPipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw HostError::from_errno("pipe for signals", errno);
  read_.reset(fds[0]);
  write_.reset(fds[1]);
  g_stop = false;
  g_hup = false;
  g_write_fd = write_.get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGHUP, &sa, &g_old_hup);
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &sa, &g_old_int);
}

SignalPipe::~SignalPipe() {
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGHUP, &g_old_hup, nullptr);
  g_write_fd = -1;
}

void SignalPipe::drain() {
  char buf[64];
  while (::read(read_.get(), buf, sizeof buf) > 0) {
  }
}

const std::atomic<bool>& SignalPipe::stop() const { return g_stop; }

bool SignalPipe::take_hangup() { return g_hup.exchange(false); }

}  // namespace banger
