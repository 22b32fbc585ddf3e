// What banger-launch (src/launch/) tells banger through the report pipe on
// its fd 3, shared by both sides so they cannot drift apart.
#pragma once

namespace banger::launch {

/// The report pipe is the launcher's fd 3; 0 is /dev/null, 1 and 2 the log.
constexpr int kReportFd = 3;

enum MsgKind : int { kPid = 1, kForkFailed, kChdirFailed, kExecFailed, kUsage };

/// One message is one write of 8 bytes (< PIPE_BUF): atomic.
struct Msg {
  int kind;
  int value;  ///< the pid for kPid, else an errno
};

}  // namespace banger::launch
