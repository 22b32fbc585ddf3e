#include "common/fault.h"

#ifdef BANGER_FAULTS

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

namespace banger {

void fault_point(const char* when, const std::string& step) {
  const std::string point = std::string(when) + ":" + step;
  if (const char* trace = std::getenv("BANGER_FAULT_TRACE")) {
    // One write(2) per line with O_APPEND: lines from parallel workers never mix.
    int fd = ::open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::string line = point + "\n";
      [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
      ::close(fd);
    }
  }
  const char* fault = std::getenv("BANGER_FAULT");
  if (!fault) return;
  std::string want = fault;
  int nth = 1;
  if (size_t hash = want.find('#'); hash != std::string::npos) {
    nth = std::atoi(want.c_str() + hash + 1);
    want.resize(hash);
  }
  if (want != point) return;
  static std::mutex mu;
  static int seen = 0;
  std::lock_guard lock(mu);
  if (++seen == nth) ::kill(::getpid(), SIGKILL);
}

}  // namespace banger

#endif
