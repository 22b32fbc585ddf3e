#include "common/reader_group.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/host_error.h"

namespace banger {

std::optional<gid_t> reader_group() {
  std::vector<char> buf(4096);
  group g {};
  group* found = nullptr;
  while (::getgrnam_r(kReaderGroup, &g, buf.data(), buf.size(), &found) == ERANGE) buf.resize(buf.size() * 2);
  if (!found) return std::nullopt;
  return found->gr_gid;
}

namespace {

void set_group_and_mode(const std::string& path, gid_t gid, mode_t mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw HostError::from_errno("checking " + path, errno);
  }
  if (S_ISLNK(st.st_mode)) return;  // never follow a link placed there
  if (st.st_gid != gid && ::lchown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)
    throw HostError::from_errno("giving group " + std::string(kReaderGroup) + " read access to " + path, errno);
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0)
    throw HostError::from_errno("setting the mode of " + path, errno);
}

}  // namespace

void open_gate_to_readers(const std::string& dir) { share_with_readers({dir}, 02750); }

void share_with_readers(std::initializer_list<std::string> paths, mode_t mode) {
  if (::geteuid() != 0) return;
  const std::optional<gid_t> gid = reader_group();  // looked up once for all of them
  if (!gid) return;
  for (const std::string& p : paths) set_group_and_mode(p, *gid, mode);
}

}  // namespace banger
