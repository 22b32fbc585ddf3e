#include "drivers/pidfd_set.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace banger {

namespace {

// Raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" (host-apis.md §8).
UniqueFd open_pidfd(pid_t pid) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));
}

bool exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

}  // namespace

std::vector<std::string> PidfdSet::reset(const std::map<std::string, ProcessIdentity>& processes) {
  std::vector<std::string> missing;
  std::map<std::string, Entry> next;
  std::map<std::string, std::pair<int64_t, uint64_t>> dead;
  for (const auto& [name, id] : processes) {
    std::pair<int64_t, uint64_t> key{id.pid, id.start_time};
    auto old = entries_.find(name);
    if (old != entries_.end() && old->second.id.pid == id.pid &&
        old->second.id.start_time == id.start_time && !exited(old->second.fd.get())) {
      next.emplace(name, std::move(old->second));
      continue;
    }
    UniqueFd fd = open_pidfd(static_cast<pid_t>(id.pid));
    // Identity is checked after the open: if it matches now, the pidfd was
    // opened on the recorded process (a pid is not reused while it lives).
    if (!fd || !is_running(id)) {
      auto known = dead_.find(name);
      if (known == dead_.end() || known->second != key) missing.push_back(name);
      dead[name] = key;
      continue;
    }
    next.emplace(name, Entry{id, std::move(fd)});
  }
  entries_ = std::move(next);
  dead_ = std::move(dead);
  return missing;
}

void PidfdSet::add_pollfds(std::vector<pollfd>& fds) const {
  for (const auto& [name, e] : entries_) fds.push_back(pollfd{e.fd.get(), POLLIN, 0});
}

std::vector<std::string> PidfdSet::take_exited() {
  std::vector<std::string> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (exited(it->second.fd.get())) {
      out.push_back(it->first);
      dead_[it->first] = {it->second.id.pid, it->second.id.start_time};
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace banger
