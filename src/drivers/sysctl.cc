#include "drivers/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "resources/names.h"

namespace banger {

namespace {

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

std::string hint(int err) {
  if (err == EACCES || err == EPERM || err == EROFS) return " (banger needs root)";
  return {};
}

// The interface name becomes a path component: refuse "..", "/" and the like
// before building the path.
std::string route_localnet_path(const std::string& ifname) {
  if (!is_interface_name(ifname)) {
    throw HostError("sysctl route_localnet: \"" + ifname +
                    "\" is not a valid interface name (1..15 of [A-Za-z0-9_.-])");
  }
  return "/proc/sys/net/ipv4/conf/" + ifname + "/route_localnet";
}

std::string open_hint(int err) {
  if (err == ENOENT) return " (no such interface in this network namespace)";
  return hint(err);
}

bool read_flag(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    throw HostError(errno_message("cannot read " + path, e) + open_hint(e), code_of_errno(e));
  }
  char buf[32] = {};
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    throw HostError::from_errno("cannot read " + path, e);
  }
  // Both sysctls are integers where any non-zero value means on.
  long value = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, value);
  if (ec != std::errc() || end == buf) {
    throw HostError("cannot read " + path + ": expected a number, got \"" + std::string(buf, n) +
                    "\"");
  }
  return value != 0;
}

void write_flag(const std::string& path, bool on) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    throw HostError(errno_message("cannot write " + path, e) + open_hint(e), code_of_errno(e));
  }
  const char* text = on ? "1\n" : "0\n";
  ssize_t n;
  do {
    n = ::write(fd.get(), text, 2);
  } while (n < 0 && errno == EINTR);
  if (n != 2) {
    int e = n < 0 ? errno : EIO;
    throw HostError(errno_message("cannot write " + path, e) + hint(e), code_of_errno(e));
  }
  // procfs applies the value in write(); close cannot fail in a way that
  // undoes it, so its result carries no information.
}

}  // namespace

bool ipv4_forwarding_enabled() { return read_flag(kIpForward); }

void set_ipv4_forwarding(bool on) { write_flag(kIpForward, on); }

void set_route_localnet(const std::string& ifname, bool on) {
  write_flag(route_localnet_path(ifname), on);
}

bool route_localnet_enabled(const std::string& ifname) {
  return read_flag(route_localnet_path(ifname));
}

bool turn_off_ipv6(const std::string& ifname) {
  route_localnet_path(ifname);  // the same check of the name
  const std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
  if (::access(path.c_str(), F_OK) != 0) return false;  // a kernel without IPv6
  if (read_flag(path)) return false;
  write_flag(path, true);
  return true;
}

}  // namespace banger
