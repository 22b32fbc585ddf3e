// The error codes: what errno values mean, and which codes a retry can fix.
#include <gtest/gtest.h>

#include <cerrno>

#include "common/host_error.h"

namespace banger {
namespace {

TEST(ErrorCode, ErrnoValuesMapToTheirKind) {
  EXPECT_EQ(code_of_errno(ENOENT), ErrorCode::NotFound);
  EXPECT_EQ(code_of_errno(EEXIST), ErrorCode::Conflict);
  EXPECT_EQ(code_of_errno(EADDRINUSE), ErrorCode::Conflict);
  EXPECT_EQ(code_of_errno(EBUSY), ErrorCode::Busy);
  EXPECT_EQ(code_of_errno(EAGAIN), ErrorCode::Busy);
  EXPECT_EQ(code_of_errno(EACCES), ErrorCode::Permission);
  EXPECT_EQ(code_of_errno(EPERM), ErrorCode::Permission);
  EXPECT_EQ(code_of_errno(EINVAL), ErrorCode::Invalid);
  EXPECT_EQ(code_of_errno(EOPNOTSUPP), ErrorCode::Invalid);
  EXPECT_EQ(code_of_errno(ENOSPC), ErrorCode::Exhausted);
  EXPECT_EQ(code_of_errno(ENOMEM), ErrorCode::Exhausted);
  EXPECT_EQ(code_of_errno(EIO), ErrorCode::Io);
  EXPECT_EQ(code_of_errno(ETIMEDOUT), ErrorCode::Io);
  EXPECT_EQ(code_of_errno(0), ErrorCode::Unknown);
  EXPECT_EQ(code_of_errno(EDOM), ErrorCode::Unknown);
}

TEST(ErrorCode, OnlyUnknownBusyAndIoAreRetryable) {
  EXPECT_TRUE(retryable(ErrorCode::Unknown));
  EXPECT_TRUE(retryable(ErrorCode::Busy));
  EXPECT_TRUE(retryable(ErrorCode::Io));
  for (ErrorCode c : {ErrorCode::NotFound, ErrorCode::Conflict, ErrorCode::Permission, ErrorCode::Invalid,
                      ErrorCode::Exhausted}) {
    EXPECT_FALSE(retryable(c)) << to_string(c);
  }
}

TEST(HostError, FromErrnoKeepsTheMessageAndTheCode) {
  HostError e = HostError::from_errno("opening /dev/net/tun", ENOENT);
  EXPECT_STREQ(e.what(), "opening /dev/net/tun: No such file or directory");
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  EXPECT_EQ(HostError("plain").code(), ErrorCode::Unknown);
  EXPECT_STREQ(to_string(ErrorCode::NotFound), "not-found");
}

}  // namespace
}  // namespace banger
