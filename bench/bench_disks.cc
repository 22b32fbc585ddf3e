// VM disk figures through the product path (reconciler/disk_manager): N disks
// made from one IMAGE with a diskStrategy, the time each ensure() takes, the
// space they use, then their removal and a check that nothing is left.
// Space is measured two ways, because they disagree on purpose: st_blocks of
// the files under STATE_DIR/vms counts shared (reflinked) extents once per
// file, while the filesystem's used-blocks delta (statvfs, after syncfs)
// counts what the disks really cost. On a shared filesystem the delta also
// includes whatever else wrote meanwhile; use a filesystem of its own for
// exact figures (bench/run_disk_bench.sh does). Needs root for snapshot
// (loop + device-mapper; run it in the test guest, tests/guest/README.md).
// Usage: bench_disks STRATEGY STATE_DIR IMAGE N
//   STRATEGY: auto | snapshot | reflink | copy (the VM's diskStrategy)
// Prints `key: value` lines; exits 1 on any error or leftover, 2 on bad usage.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "drivers/devmapper.h"
#include "drivers/disk.h"
#include "drivers/loop.h"
#include "reconciler/disk_manager.h"
#include "reconciler/disk_rules.h"
#include "state/store.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace banger;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string vm_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "d%03d", i);
  return buf;
}

std::string mib(uint64_t bytes) {
  char buf[64];
  // A COW file's few KiB would read as 0.0 MiB.
  if (bytes < (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Flushes the filesystem first: btrfs (and delayed allocation elsewhere) only
// accounts blocks in statvfs once they are committed.
uint64_t fs_used(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("cannot open " + dir);
  ::syncfs(fd.get());
  struct statvfs sv {};
  if (::fstatvfs(fd.get(), &sv) != 0) throw std::runtime_error("statvfs " + dir + " failed");
  return static_cast<uint64_t>(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

struct Usage {
  uint64_t apparent = 0, allocated = 0;
  size_t files = 0;
};

Usage usage_under(const std::string& dir) {
  Usage u;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return u;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    u.apparent += static_cast<uint64_t>(st.st_size);
    u.allocated += static_cast<uint64_t>(st.st_blocks) * 512;
    ++u.files;
  }
  return u;
}

size_t entries(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++n;
  return n;
}

bool parse_strategy(const std::string& s, DiskStrategy* out) {
  static const std::map<std::string, DiskStrategy> names{{"auto", DiskStrategy::Auto},
                                                         {"snapshot", DiskStrategy::Snapshot},
                                                         {"reflink", DiskStrategy::Reflink},
                                                         {"copy", DiskStrategy::Copy}};
  auto it = names.find(s);
  if (it == names.end()) return false;
  *out = it->second;
  return true;
}

struct Stats {
  double total = 0, median = 0, max = 0;
};
Stats stats(std::vector<double> ms) {
  Stats s;
  if (ms.empty()) return s;
  for (double v : ms) s.total += v;
  std::sort(ms.begin(), ms.end());
  s.max = ms.back();
  s.median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  return s;
}

void print_times(const char* what, const std::vector<double>& ms) {
  Stats s = stats(ms);
  std::printf("%s_total: %.3f s\n", what, s.total / 1000);
  std::printf("%s_median: %.2f ms\n", what, s.median);
  std::printf("%s_max: %.2f ms\n", what, s.max);
}

// Banger's devices for this state dir, or over its files, still present.
std::vector<std::string> leftovers(const std::string& state_dir, const std::string& tag, const std::string& image) {
  std::vector<std::string> out;
  const std::string label = "banger:" + tag + ":";
  for (const LoopDevice& l : LoopDriver().list()) {
    if (starts_with(l.label, label) || l.backing_file == image || starts_with(l.backing_file, state_dir + "/"))
      out.push_back("loop " + l.device + " (" + l.backing_file + ", label " + l.label + ")");
  }
  if (DeviceMapper::available()) {
    for (const DmDevice& d : DeviceMapper().list("banger-"))
      if (starts_with(d.uuid, "BANGER-" + tag + "-")) out.push_back("dm " + d.name + " (uuid " + d.uuid + ")");
  }
  const std::string vms = state_dir + "/vms";
  std::error_code ec;
  for (auto it = fs::directory_iterator(vms, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    out.push_back("folder " + it->path().string());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  DiskStrategy strategy{};
  const int n = argc == 5 ? std::atoi(argv[4]) : 0;
  if (argc != 5 || !parse_strategy(argv[1], &strategy) || n <= 0 || n > 1000) {
    std::fprintf(stderr,
                 "usage: bench_disks STRATEGY STATE_DIR IMAGE N\n"
                 "  STRATEGY: auto|snapshot|reflink|copy; N: 1..1000 disks (VMs d000..)\n");
    return 2;
  }
  std::error_code ec;
  fs::create_directories(argv[2], ec);
  // Canonical paths: loop devices report their backing files so, and the
  // disk records keep that spelling.
  const std::string state_dir = fs::weakly_canonical(argv[2], ec).string();
  const std::string image = fs::weakly_canonical(argv[3], ec).string();
  std::vector<std::string> made;
  int rc = 0;
  try {
    Store store(state_dir);
    DiskManager disks(store, state_dir);
    if (!store.disk_records().empty() || entries(state_dir + "/vms") != 0)
      throw std::runtime_error(state_dir + " already has disks; use an empty state dir");

    const uint64_t image_size = DiskDriver::file_size(image);
    struct stat ist {};
    ::stat(image.c_str(), &ist);
    std::printf("strategy: %s\n", argv[1]);
    std::printf("state_dir: %s\n", state_dir.c_str());
    std::printf("image: %s\n", image.c_str());
    std::printf("image_size: %s\n", mib(image_size).c_str());
    std::printf("image_allocated: %s\n", mib(static_cast<uint64_t>(ist.st_blocks) * 512).c_str());
    std::printf("disks: %d\n", n);

    auto t0 = Clock::now();
    DiskHost host = disks.observe();
    std::printf("observe: %.2f ms\n", ms_since(t0));
    std::printf("host_reflink: %s\n", host.reflink ? "yes" : "no");
    std::printf("host_devmapper: %s\n", host.devmapper ? "yes" : ("no (" + host.devmapper_why + ")").c_str());

    const uint64_t used_before = fs_used(state_dir);
    std::vector<double> create_ms;
    std::map<std::string, int> methods;
    for (int i = 0; i < n; ++i) {
      const std::string vm = vm_name(i);
      DiskRequest req{vm, image, 0, strategy, "VM/" + vm};
      t0 = Clock::now();
      made.push_back(vm);  // remove() of a disk never made is success
      DiskResult r = disks.ensure(req, host);
      create_ms.push_back(ms_since(t0));
      if (r.result != OpResult::Created)
        throw std::runtime_error(vm + ": ensure did not create a disk (" + r.device + ")");
      ++methods[to_string(r.method)];
    }
    print_times("create", create_ms);
    std::string picked;
    for (const auto& [m, count] : methods) picked += (picked.empty() ? "" : ", ") + m + " x" + std::to_string(count);
    std::printf("method_used: %s\n", picked.c_str());

    const uint64_t used_after = fs_used(state_dir);
    const Usage u = usage_under(state_dir + "/vms");
    const uint64_t delta = used_after > used_before ? used_after - used_before : 0;
    std::printf("files_under_vms: %zu\n", u.files);
    std::printf("apparent_total: %s\n", mib(u.apparent).c_str());
    std::printf("allocated_total (st_blocks): %s\n", mib(u.allocated).c_str());
    std::printf("allocated_per_disk (st_blocks): %s\n", mib(u.allocated / n).c_str());
    std::printf("fs_used_delta_total (statvfs): %s\n", mib(delta).c_str());
    std::printf("fs_used_delta_per_disk (statvfs): %s\n", mib(delta / n).c_str());

    std::vector<double> remove_ms;
    for (const std::string& vm : made) {
      t0 = Clock::now();
      disks.remove(vm, "VM/" + vm);
      remove_ms.push_back(ms_since(t0));
    }
    made.clear();
    print_times("remove", remove_ms);
    const uint64_t used_end = fs_used(state_dir);
    std::printf("fs_used_after_remove_vs_before: %+.1f MiB\n",
                (static_cast<double>(used_end) - static_cast<double>(used_before)) / (1 << 20));

    std::vector<std::string> left = leftovers(state_dir, disks.tag(), image);
    const size_t records = store.disk_records().size();
    if (records) left.push_back(std::to_string(records) + " disk record(s)");
    std::printf("leftovers: %s\n", left.empty() ? "none" : std::to_string(left.size()).c_str());
    for (const auto& l : left) std::printf("leftover: %s\n", l.c_str());
    if (!left.empty()) rc = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_disks: %s\n", e.what());
    rc = 1;
  }
  if (!made.empty()) {
    // Failed midway: remove what was made, through the same records.
    try {
      Store store(state_dir);
      DiskManager disks(store, state_dir);
      for (const std::string& vm : made) disks.remove(vm, "VM/" + vm);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_disks: cleanup: %s\n", e.what());
    }
  }
  return rc;
}
