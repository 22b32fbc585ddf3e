// Applies N VMs (with a port forward each) on the fake Firecracker inside a
// private network namespace, then prints: apply time, no-op diff time, get
// time, and banger's peak RSS for each. Needs root (unshare, taps, nftables).
// Usage: bench_apply BANGER_BIN FAKE_FIRECRACKER_BIN [N...]   (default N: 100 1000)
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  double seconds = 0;
  long max_rss_kib = 0;
};

// Runs argv with stdout/stderr to `log`, returning its time and peak RSS.
Run run(const std::vector<std::string>& argv, const std::string& log) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  Run r;
  rusage ru{};
  wait4(pid, &r.status, 0, &ru);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.max_rss_kib = ru.ru_maxrss;
  return r;
}

void write_manifests(const fs::path& dir, int n) {
  fs::create_directories(dir / "m");
  std::ofstream(dir / "vmlinux") << std::string(4096, 'k');
  { std::ofstream img(dir / "rootfs.ext4"); }
  fs::resize_file(dir / "rootfs.ext4", 1 << 20);
  std::ofstream f(dir / "m" / "fleet.yaml");
  f << "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: bench}\nspec: {subnet: 10.90.0.0/20}\n"
    << "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " << (dir / "vmlinux").string()
    << "}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\nspec: {path: "
    << (dir / "rootfs.ext4").string() << "}\n";
  for (int i = 0; i < n; ++i) {
    f << "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: vm-" << i
      << "}\nspec: {kernel: k, image: i, network: bench, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n"
      << "---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: vm-" << i << "-http}\n"
      << "spec: {vm: vm-" << i << ", hostPort: " << 20000 + i << ", guestPort: 80}\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BANGER_BIN FAKE_FIRECRACKER_BIN [N...]\n", argv[0]);
    return 2;
  }
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bench_apply needs root (a private network namespace)\n");
    return 2;
  }
  std::string banger = argv[1], fake = argv[2];
  std::vector<int> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {100, 1000};
  std::printf("%8s %12s %12s %12s %14s %14s\n", "VMs", "apply s", "diff s", "get s", "apply RSS MiB",
              "diff RSS MiB");
  int rc = 0;
  for (int n : sizes) {
    fs::path dir = fs::temp_directory_path() / ("banger-bench-" + std::to_string(getpid()) + "-" + std::to_string(n));
    write_manifests(dir, n);
    std::vector<std::string> common = {"--state-dir", (dir / "state").string(), "--run-dir", (dir / "run").string()};
    auto cmd = [&](std::vector<std::string> a, bool fc) {
      std::vector<std::string> v{banger};
      v.insert(v.end(), a.begin(), a.end());
      v.insert(v.end(), common.begin(), common.end());
      if (fc) v.insert(v.end(), {"--firecracker", fake, "-q"});
      return v;
    };
    std::string log = (dir / "bench.log").string();
    Run apply = run(cmd({"apply", "-f", (dir / "m").string()}, true), log);
    Run diff = run(cmd({"diff", "-f", (dir / "m").string()}, true), log);
    Run get = run(cmd({"get", "vms"}, false), log);
    Run del = run(cmd({"delete", "-f", (dir / "m").string()}, true), log);
    bool ok = WEXITSTATUS(apply.status) == 0 && WEXITSTATUS(diff.status) == 0 && WEXITSTATUS(get.status) == 0 &&
              WEXITSTATUS(del.status) == 0;
    std::printf("%8d %12.2f %12.2f %12.2f %14.1f %14.1f%s\n", n, apply.seconds, diff.seconds, get.seconds,
                apply.max_rss_kib / 1024.0, diff.max_rss_kib / 1024.0, ok ? "" : "  (FAILED: see log)");
    std::printf("%8s delete of everything: %.2f s\n", "", del.seconds);
    std::fflush(stdout);
    if (!ok) {
      std::printf("log kept at %s\n", log.c_str());
      rc = 1;
    } else {
      fs::remove_all(dir);
    }
  }
  return rc;
}
