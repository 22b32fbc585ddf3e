// Snapshot disk figures at the driver level: COUNT copy-on-write disks over one
// read-only base image of IMAGE_MIB, as the snapshot disk strategy makes them
// (one shared read-only loop, a sparse COW file + loop per disk, one dm
// "snapshot" device per disk), then listed and removed. Needs root; where the
// kernel has no device-mapper (this build host) only the loop figures are
// measured. Run it in the test guest for the dm ones:
//   tests/guest/run-in-guest.sh CACHE -- build/bench_snapshot 100 1024
// Files are sparse and live under /var/tmp (a tmpfs in the guest).
// Usage: bench_snapshot [COUNT=100] [IMAGE_MIB=1024]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "drivers/devmapper.h"
#include "drivers/loop.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace banger;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void sparse_file(const std::string& path, uint64_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
    throw std::runtime_error("cannot create " + path);
  }
}

uint64_t allocated(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100;
  const uint64_t image = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024) << 20;
  if (count <= 0 || image == 0) {
    std::fprintf(stderr, "usage: bench_snapshot [COUNT=100] [IMAGE_MIB=1024]\n");
    return 2;
  }
  char tmpl[] = "/var/tmp/banger-bench-snap-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  const std::string tag = "bench" + std::to_string(::getpid());
  std::string why;
  const bool dm_ok = DeviceMapper::available(&why);
  std::optional<DeviceMapper> dm;
  LoopDriver loops;
  std::vector<std::string> names;
  std::vector<LoopDriver::Attached> attached;
  int rc = 0;
  try {
    if (dm_ok) dm.emplace();
    sparse_file(dir + "/base.img", image);
    auto t0 = Clock::now();
    attached.push_back(loops.attach(dir + "/base.img", true, tag + "-base"));
    const double base_ms = ms_since(t0);
    const std::string base = attached[0].dev.majmin();

    double files_ms = 0, attach_ms = 0, create_ms = 0;
    for (int i = 0; i < count; ++i) {
      const std::string cow = dir + "/cow" + std::to_string(i);
      t0 = Clock::now();
      sparse_file(cow, image);
      files_ms += ms_since(t0);
      t0 = Clock::now();
      attached.push_back(loops.attach(cow, false, tag + "-cow"));
      attach_ms += ms_since(t0);
      if (!dm) continue;
      const std::string name = "banger-" + tag + "-" + std::to_string(i);
      names.push_back(name);
      t0 = Clock::now();
      dm->create_snapshot(name, "BANGER-" + name, base, attached.back().dev.majmin(), image / 512);
      create_ms += ms_since(t0);
      attached.back().fd.reset();  // dm holds the COW loop now
    }
    if (dm) attached[0].fd.reset();  // and the base loop

    t0 = Clock::now();
    size_t listed_loops = loops.list().size();
    const double loop_list_ms = ms_since(t0);
    uint64_t cow_bytes = 0;
    for (int i = 0; i < count; ++i) cow_bytes += allocated(dir + "/cow" + std::to_string(i));

    std::printf("bench_snapshot: %d disks over a %llu MiB image (%s)\n", count,
                static_cast<unsigned long long>(image >> 20),
                dm ? why.c_str() : ("no device-mapper: " + why).c_str());
    std::printf("  base loop attach          %8.2f ms\n", base_ms);
    std::printf("  sparse COW file           %8.2f ms each\n", files_ms / count);
    std::printf("  COW loop attach           %8.2f ms each\n", attach_ms / count);
    std::printf("  loop list (%zu bound)     %8.2f ms\n", listed_loops, loop_list_ms);
    if (dm) {
      t0 = Clock::now();
      size_t listed = dm->list("banger-" + tag + "-").size();
      const double dm_list_ms = ms_since(t0);
      std::printf("  dm snapshot create        %8.2f ms each\n", create_ms / count);
      std::printf("  disk ready (file+loop+dm) %8.2f ms each, %.2f s for all\n",
                  (files_ms + attach_ms + create_ms) / count,
                  (files_ms + attach_ms + create_ms) / 1000);
      std::printf("  dm list (%zu devices)     %8.2f ms\n", listed, dm_list_ms);
      std::printf("  COW space after create    %llu KiB in all (%llu KiB each)\n",
                  static_cast<unsigned long long>(cow_bytes >> 10),
                  static_cast<unsigned long long>((cow_bytes / count) >> 10));
      t0 = Clock::now();
      for (const auto& n : names) dm->remove(n);
      std::printf("  dm remove (loops autoclear) %6.2f ms each\n", ms_since(t0) / count);
      names.clear();
    } else {
      t0 = Clock::now();
      for (auto& a : attached) a.fd.reset();  // AUTOCLEAR detaches at the last close
      auto ours_left = [&] {
        size_t n = 0;
        for (const auto& l : loops.list()) n += l.label.rfind(tag + "-", 0) == 0;
        return n;
      };
      while (ours_left() > 0 && ms_since(t0) < 10000) {
      }
      std::printf("  loop detach (last close)  %8.2f ms each, until none is listed\n",
                  ms_since(t0) / (count + 1));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_snapshot: %s\n", e.what());
    rc = 1;
  }
  // Whatever is left, in order: dm devices, then loops, then files.
  for (const auto& n : names) {
    try {
      dm->remove(n);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_snapshot: cleanup: %s\n", e.what());
    }
  }
  for (auto& a : attached) a.fd.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;
}
