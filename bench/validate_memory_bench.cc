// Peak memory and time of `banger validate` on one big file: about MB
// megabytes (default 21) of VM documents, once with distinct names (valid)
// and once all named alike (an error per document after the first). Each
// load runs in its own child process, so each peak is its own.
// Usage: bench_validate_memory [MB]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "resources/manifest_loader.h"

namespace fs = std::filesystem;

namespace {

// One file: a Network, a Kernel and an Image, then VMs up to `bytes`.
size_t write_fleet(const fs::path& path, size_t bytes, bool same_name) {
  std::ofstream f(path);
  std::string head =
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata:\n  name: fleet\nspec:\n  subnet: 10.0.0.0/16\n"
      "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata:\n  name: debian-12\nspec:\n  path: vmlinuz\n"
      "---\napiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: busybox-web\nspec:\n  path: rootfs.ext4\n";
  f << head;
  size_t size = head.size();
  for (unsigned i = 0; size < bytes; ++i) {
    unsigned n = i + 2;
    std::ostringstream vm;
    vm << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: "
       << (same_name ? std::string("web") : "web-" + std::to_string(i))
       << "\n  labels:\n    app: web\nspec:\n  kernel: debian-12\n  image: busybox-web\n  vcpus: 1\n"
          "  memory: 256Mi\n  network: fleet\n";
    // A /16 has room for 65534 fixed addresses; the rest are allocated.
    if (same_name) {
      vm << "  ip: 10.0.0.2\n";
    } else if (n < 65000) {
      vm << "  ip: 10.0." << (n >> 8) << "." << (n & 255) << "\n";
    }
    vm << "  restartPolicy: always\n  readiness:\n    http: {port: 80, path: /}\n    timeout: 120s\n";
    f << vm.str();
    size += vm.str().size();
  }
  return size;
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Validates `path` in a child; returns false when the verdict is not `want_valid`.
bool measure(const fs::path& path, size_t bytes, const char* what, bool want_valid) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    auto t0 = std::chrono::steady_clock::now();
    std::istringstream none;
    banger::LoadResult r = banger::load_manifests({path.string()}, none);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double mib = static_cast<double>(bytes) / (1 << 20);
    double peak = static_cast<double>(peak_rss_kib()) / 1024;
    std::printf("validate: %.1f MiB file, %s: %zu documents, %zu errors in %.2f s, peak RSS %.0f MiB "
                "(%.1fx the file)\n",
                mib, what, r.documents, r.diags.size(), s, peak, peak / mib);
    std::fflush(stdout);
    _exit(r.ok() == want_valid ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 21;
  fs::path dir = fs::temp_directory_path() / ("banger-bench-mem-" + std::to_string(getpid()));
  fs::create_directories(dir);
  bool ok = true;
  size_t bytes = write_fleet(dir / "fleet.yaml", mb * 1000 * 1000, false);
  ok &= measure(dir / "fleet.yaml", bytes, "distinct names", true);
  bytes = write_fleet(dir / "same.yaml", mb * 1000 * 1000, true);
  ok &= measure(dir / "same.yaml", bytes, "all named alike", false);
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
