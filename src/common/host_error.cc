#include "common/host_error.h"

#include <cstring>

namespace banger {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace banger
