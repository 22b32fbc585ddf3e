// Times loading + validating a folder of N VM documents (default 1000), the
// way `banger validate -f DIR` does it, and prints the figures.
// Usage: bench_validate [N] [REPEATS]
#include <algorithm>
#include <chrono>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resources/manifest_loader.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  fs::path dir = fs::temp_directory_path() / ("banger-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream base(dir / "base.yaml");
    base << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: fleet}\n"
            "spec: {subnet: 10.80.0.0/16}\n---\n"
            "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: vmlinux}\n"
            "---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\nspec: {path: root.ext4}\n";
  }
  // One file per VM (with its port forward), as a GitOps tree would have it.
  for (int i = 0; i < n; ++i) {
    std::ostringstream name;
    name << "vm-" << i << ".yaml";
    std::ofstream f(dir / name.str());
    f << "apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: vm-" << i
      << "\n  labels: {tier: web}\nspec:\n  kernel: k\n  image: i\n  vcpus: 2\n  memory: 1Gi\n"
         "  network: fleet\n  ip: 10.80."
      << (i / 250) << "." << (i % 250 + 2)
      << "\n  readiness: {http: {port: 80, path: /healthz}, timeout: 60s}\n---\n"
         "apiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: vm-"
      << i << "-http}\nspec: {vm: vm-" << i << ", hostPort: " << (20000 + i)
      << ", guestPort: 80}\n";
  }
  std::vector<double> ms;
  size_t docs = 0, errors = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    std::istringstream none;
    banger::LoadResult res = banger::load_manifests({dir.string()}, none);
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    docs = res.documents;
    errors = res.diags.size();
  }
  fs::remove_all(dir);
  std::sort(ms.begin(), ms.end());
  std::printf("validate: %d VM files (%zu documents, %zu errors): median %.1f ms, min %.1f ms, "
              "max %.1f ms over %d runs\n",
              n, docs, errors, ms[ms.size() / 2], ms.front(), ms.back(), repeats);
  return errors == 0 ? 0 : 1;
}
