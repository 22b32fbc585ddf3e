#include "common/host_error.h"

#include <cerrno>
#include <cstring>

namespace banger {

const char* to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::Unknown: return "unknown";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::Busy: return "busy";
    case ErrorCode::Permission: return "permission";
    case ErrorCode::Invalid: return "invalid";
    case ErrorCode::Exhausted: return "exhausted";
    case ErrorCode::Io: return "io";
  }
  return "unknown";
}

bool retryable(ErrorCode c) { return c == ErrorCode::Unknown || c == ErrorCode::Busy || c == ErrorCode::Io; }

ErrorCode code_of_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case ESRCH:
      return ErrorCode::NotFound;
    case EEXIST:
    case EADDRINUSE:
    case ENOTEMPTY:
      return ErrorCode::Conflict;
    case EBUSY:
    case EAGAIN:
    case EINTR:
    case ETXTBSY:
      return ErrorCode::Busy;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorCode::Permission;
    case EINVAL:
    case ENOTDIR:
    case EISDIR:
    case ENOTTY:
    case EOPNOTSUPP:
    case ENAMETOOLONG:
    case EXDEV:
    case ERANGE:
    case EFBIG:
      return ErrorCode::Invalid;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return ErrorCode::Exhausted;
    case EIO:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENETUNREACH:
    case EHOSTUNREACH:
      return ErrorCode::Io;
    default:
      return ErrorCode::Unknown;
  }
}

HostError HostError::from_errno(const std::string& what, int err) {
  return HostError(errno_message(what, err), code_of_errno(err));
}

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace banger
