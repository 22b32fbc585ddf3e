#include "common/profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace banger::profile {

namespace {

struct Total {
  long count = 0;
  std::chrono::steady_clock::duration spent{};
};

struct Table {
  std::mutex mu;
  std::map<std::string, Total, std::less<>> totals;
};

Table& table() {
  static Table* t = new Table;  // never destroyed: workers may still add at exit
  return *t;
}

bool read_flag() {
  const char* v = std::getenv("BANGER_PROFILE");
  bool on = v && *v && std::string(v) != "0";
  if (on) std::atexit(print);
  return on;
}

}  // namespace

bool enabled() {
  static const bool on = read_flag();
  return on;
}

void add(std::string_view phase, std::chrono::steady_clock::duration spent) {
  Table& t = table();
  std::lock_guard lock(t.mu);
  auto it = t.totals.find(phase);
  if (it == t.totals.end()) it = t.totals.emplace(std::string(phase), Total{}).first;
  ++it->second.count;
  it->second.spent += spent;
}

void print() {
  Table& t = table();
  std::vector<std::pair<std::string, Total>> rows;
  {
    std::lock_guard lock(t.mu);
    rows.assign(t.totals.begin(), t.totals.end());
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [phase, total] : rows) {
    std::fprintf(stderr, "profile: %-28s %7ld x %9.3f s\n", phase.c_str(), total.count,
                 std::chrono::duration<double>(total.spent).count());
  }
}

}  // namespace banger::profile
