// banger against the shell way, side by side in one run, on the same
// Firecracker double, inside one private network namespace. For each N:
//   - the double's floor: N doubles started and configured (5 API calls
//     each) by a minimal C++ driver, two at a time (2 cores); the CPU the
//     doubles themselves used is what no driver can go below;
//   - banger: apply, no-op diff, get, no-op apply, graceful delete;
//   - bench/shell_peer.sh: one ip/nft/curl process per object, up, then
//     graceful down one VM at a time (what the imperative daemon did).
// Prints one table. Needs root (unshare, taps, nftables).
// Usage: bench_apply BANGER_BIN FAKE_FIRECRACKER_BIN SHELL_PEER [N...]   (default N: 100 300 1000)
#include <algorithm>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_netns.h"

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// How often diff, get and a no-op apply are run (their median is shown).
constexpr int kReadRuns = 5;

struct Run {
  int status = -1;
  double seconds = 0;
  long max_rss_kib = 0;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs argv with stdout/stderr appended to `log`; its time and peak RSS.
Run run(const std::vector<std::string>& argv, const std::string& log) {
  auto t0 = Clock::now();
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
  r.seconds = since(t0);
  r.max_rss_kib = ru.ru_maxrss;
  return r;
}

// A read-only command run `times` times: the median time and the highest
// peak RSS. One run right after a 1000-VM apply also measures the kernel's
// writeback of a thousand disk copies, not banger.
Run run_median(const std::vector<std::string>& argv, const std::string& log, int times) {
  std::vector<Run> runs;
  for (int i = 0; i < times; ++i) runs.push_back(run(argv, log));
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
  Run r = runs[runs.size() / 2];
  for (const Run& x : runs) {
    r.max_rss_kib = std::max(r.max_rss_kib, x.max_rss_kib);
    if (!x.ok()) r.status = x.status;
  }
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

// --- the double's floor --------------------------------------------------------

// One HTTP request on a fresh connection; true on a 2xx answer.
bool http_put(const std::string& sock, const std::string& path, const std::string& body) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  std::string req = (body.empty() ? "GET " : "PUT ") + path + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!body.empty()) {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  bool ok = write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  char buf[512];
  ssize_t n = ok ? read(fd, buf, sizeof buf - 1) : -1;
  close(fd);
  if (n < 12) return false;
  buf[n] = 0;
  return std::strncmp(buf + 9, "2", 1) == 0;
}

struct Floor {
  double wall = 0;
  double double_cpu = 0;  ///< user+system CPU of the doubles themselves
  bool ok = true;
};

// A persistent tap, as banger's tap driver makes it (the strict double
// refuses anything else as a VM's NIC).
bool make_tap(const std::string& name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  bool ok = ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, 1) == 0;
  close(fd);
  return ok;
}

// N doubles, started and configured like a VM, two lanes at a time. Runs in
// a child in a network namespace of its own: its taps (made before the clock
// starts) go with that namespace, all at once.
Floor measure_floor_here(const std::string& fake, const fs::path& dir, int n) {
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    if (!make_tap("flr" + std::to_string(i))) return Floor{0, 0, false};
  }
  std::vector<pid_t> pids(static_cast<size_t>(n), 0);
  std::atomic<int> next{0};
  std::atomic<bool> ok{true};
  auto t0 = Clock::now();
  auto lane = [&] {
    for (int i = next++; i < n; i = next++) {
      const std::string sock = (dir / ("fc-" + std::to_string(i) + ".sock")).string();
      pid_t pid = fork();
      if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl(fake.c_str(), fake.c_str(), "--api-sock", sock.c_str(), "--id", ("vm-" + std::to_string(i)).c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
      }
      pids[static_cast<size_t>(i)] = pid;
      auto deadline = Clock::now() + std::chrono::seconds(5);
      while (!http_put(sock, "/", "") && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::microseconds(200));
      const std::string img = (dir / "img").string();
      bool good = http_put(sock, "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})") &&
                  http_put(sock, "/boot-source", R"({"kernel_image_path": ")" + img + R"(", "boot_args": "console=ttyS0"})") &&
                  http_put(sock, "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": ")" + img +
                                                       R"(", "is_root_device": true, "is_read_only": false})") &&
                  http_put(sock, "/network-interfaces/eth0",
                           R"({"iface_id": "eth0", "host_dev_name": "flr)" + std::to_string(i) + R"("})") &&
                  http_put(sock, "/actions", R"({"action_type": "InstanceStart"})");
      if (!good) ok = false;
    }
  };
  { std::ofstream(dir / "img") << "x"; }
  std::thread other(lane);
  lane();
  other.join();
  Floor f;
  f.wall = since(t0);
  f.ok = ok;
  for (pid_t p : pids) {
    if (p > 0) kill(p, SIGKILL);
  }
  for (pid_t p : pids) {
    if (p > 0) waitpid(p, nullptr, 0);
  }
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);  // the doubles are this (forked) process's only children
  f.double_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  fs::remove_all(dir);
  return f;
}

Floor measure_floor(const std::string& fake, const fs::path& dir, int n) {
  int fds[2];
  if (pipe(fds) != 0) return Floor{0, 0, false};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Floor f{0, 0, false};
    if (unshare(CLONE_NEWNET) == 0) f = measure_floor_here(fake, dir, n);
    (void)!write(fds[1], &f, sizeof f);
    _exit(0);
  }
  close(fds[1]);
  Floor f{0, 0, false};
  if (read(fds[0], &f, sizeof f) != sizeof f) f.ok = false;
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return f;
}


}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BANGER_BIN FAKE_FIRECRACKER_BIN SHELL_PEER [N...]\n", argv[0]);
    return 2;
  }
  if (!banger::bench::enter_private_netns("bench_apply")) return 2;
  const std::string banger = argv[1], fake = argv[2], peer = argv[3];
  std::vector<int> sizes;
  for (int i = 4; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {100, 300, 1000};

  struct Row {
    int n;
    Floor floor;
    Run apply, diff, get, noop, del, sh_up, sh_down;
    double double_cpu_banger = 0;
  };
  std::vector<Row> rows;
  int rc = 0;
  for (int n : sizes) {
    Row r{};
    r.n = n;
    fs::path dir = fs::temp_directory_path() / ("banger-bench-" + std::to_string(getpid()) + "-" + std::to_string(n));
    r.floor = measure_floor(fake, dir / "floor", n);
    write_manifests(dir, n);
    // As installed: state on disk, the run dir (sockets, logs) on tmpfs.
    const fs::path run_dir = fs::path(fs::is_directory("/run") ? "/run" : "/tmp") / dir.filename();
    std::vector<std::string> common = {"--state-dir", (dir / "state").string(), "--run-dir", run_dir.string()};
    auto cmd = [&](std::vector<std::string> a, bool fc) {
      std::vector<std::string> v{banger};
      v.insert(v.end(), a.begin(), a.end());
      v.insert(v.end(), common.begin(), common.end());
      if (fc) v.insert(v.end(), {"--firecracker", fake, "-q"});
      return v;
    };
    const std::string log = (dir / "bench.log").string();
    const std::string m = (dir / "m").string();
    r.apply = run(cmd({"apply", "-f", m}, true), log);
    r.diff = run_median(cmd({"diff", "-f", m}, true), log, kReadRuns);
    r.get = run_median(cmd({"get", "vms"}, false), log, kReadRuns);
    r.noop = run_median(cmd({"apply", "-f", m}, true), log, kReadRuns);
    r.del = run(cmd({"delete", "-f", m}, true), log);
    const std::string sh_dir = (dir / "shell").string();
    fs::create_directories(sh_dir);
    r.sh_up = run({"/bin/bash", peer, "up", sh_dir, std::to_string(n), fake, (dir / "vmlinux").string(),
                   (dir / "rootfs.ext4").string()},
                  log);
    r.sh_down = run({"/bin/bash", peer, "down", sh_dir, std::to_string(n), "5000"}, log);
    bool ok = r.floor.ok && r.apply.ok() && r.diff.ok() && r.get.ok() && r.noop.ok() && r.del.ok() && r.sh_up.ok() &&
              r.sh_down.ok();
    if (!ok) {
      std::fprintf(stderr, "N=%d: a step failed (floor %d apply %d diff %d get %d noop %d delete %d shell up %d down %d); log kept at %s\n",
                   n, r.floor.ok, r.apply.ok(), r.diff.ok(), r.get.ok(), r.noop.ok(), r.del.ok(), r.sh_up.ok(),
                   r.sh_down.ok(), log.c_str());
      rc = 1;
    } else {
      fs::remove_all(dir);
      fs::remove_all(run_dir);
    }
    rows.push_back(r);
    std::fprintf(stderr, "N=%d done\n", n);
  }

  std::printf("\nbanger vs the shell way (bench/shell_peer.sh), same Firecracker double, one private netns\n");
  std::printf("%6s | %9s %9s | %9s %9s %6s | %9s %9s %6s | %7s %7s %7s | %9s %9s %9s\n", "VMs", "floor s", "dbl CPU s",
              "apply s", "shell s", "ratio", "delete s", "shell s", "ratio", "diff s", "get s", "noop s", "diff MiB",
              "get MiB", "noop MiB");
  for (const Row& r : rows) {
    std::printf("%6d | %9.2f %9.2f | %9.2f %9.2f %5.1fx | %9.2f %9.2f %5.1fx | %7.3f %7.3f %7.3f | %9.1f %9.1f %9.1f\n",
                r.n, r.floor.wall, r.floor.double_cpu, r.apply.seconds, r.sh_up.seconds,
                r.sh_up.seconds / r.apply.seconds, r.del.seconds, r.sh_down.seconds, r.sh_down.seconds / r.del.seconds,
                r.diff.seconds, r.get.seconds, r.noop.seconds, r.diff.max_rss_kib / 1024.0, r.get.max_rss_kib / 1024.0,
                r.noop.max_rss_kib / 1024.0);
  }
  std::printf("floor: N doubles started and configured by a minimal driver, 2 at a time (wall); dbl CPU: the doubles' "
              "own CPU.\ndiff, get, noop (a no-op apply): median of %d runs, MiB the highest peak RSS.\napply RSS peak: ", kReadRuns);
  for (const Row& r : rows) std::printf("%s%d: %.1f MiB", &r == &rows[0] ? "" : ", ", r.n, r.apply.max_rss_kib / 1024.0);
  std::printf("\n");
  return rc;
}
