// What the tests that make their own filesystems (btrfs, xfs, tmpfs on loop
// devices, in a private mount namespace) share: finding mkfs & co., errno
// errors, FIEMAP extents, and the loop devices left on a backing file.
#pragma once

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace banger::test {

/// `name` on PATH or in the sbin folders; "" when absent.
inline std::string find_program(const std::string& name) {
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "";
  std::istringstream dirs(path + ":/usr/sbin:/sbin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return "";
}

/// Throws `what: strerror(errno)`.
[[noreturn]] inline void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// Extents of `path` as (all, shared), from FIEMAP.
inline std::pair<int, int> extents(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail("opening " + path);
  constexpr unsigned kMax = 256;
  std::vector<uint64_t> buf((sizeof(fiemap) + kMax * sizeof(fiemap_extent)) / 8 + 1);
  auto* fm = reinterpret_cast<fiemap*>(buf.data());
  fm->fm_length = FIEMAP_MAX_OFFSET;
  fm->fm_flags = FIEMAP_FLAG_SYNC;
  fm->fm_extent_count = kMax;
  if (::ioctl(fd.get(), FS_IOC_FIEMAP, fm) != 0) fail("FIEMAP " + path);
  int shared = 0;
  for (unsigned i = 0; i < fm->fm_mapped_extents; ++i)
    if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED) ++shared;
  return {static_cast<int>(fm->fm_mapped_extents), shared};
}

/// Loop devices whose backing file is `backing`: what `losetup -a` lists.
inline std::vector<std::string> loops_backed_by(const std::string& backing) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    std::ifstream f(e.path() / "loop/backing_file");
    std::string b;
    if (f && std::getline(f, b) && b.rfind(backing, 0) == 0) out.push_back(e.path().filename());
  }
  return out;
}

}  // namespace banger::test
