// `banger watch` figures, on the fake Firecracker inside a private network
// namespace (needs root):
//  1. latency from a manifest write (temp file + rename, as editors and git
//     do) to the plan (its lines in the watcher's log), to the VM's process
//     being up (its API socket exists) and to its InstanceStart, over
//     `samples` new VMs one at a time: median and max;
//  2. the watcher's CPU use while idle with `idle_vms` VMs running, over
//     `idle_s` seconds with the default 30 s resync (utime+stime from
//     /proc/PID/stat).
// Usage: bench_watch BANGER_BIN FAKE_FIRECRACKER_BIN [samples=20] [idle_vms=100] [idle_s=90]
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string g_banger, g_fake;

std::string vm_doc(const std::string& name) {
  return "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " + name +
         "}\nspec: {kernel: k, image: i, network: bench, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n";
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  fs::path tmp = p.parent_path() / ".bench-tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);
}

void write_base(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "vmlinux") << std::string(4096, 'k');
  { std::ofstream img(dir / "rootfs.ext4"); }
  fs::resize_file(dir / "rootfs.ext4", 1 << 20);
  write_file(dir / "m" / "base.yaml",
             "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: bench}\nspec: {subnet: 10.91.0.0/20}\n"
             "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " +
                 (dir / "vmlinux").string() + "}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\n"
                 "spec: {path: " + (dir / "rootfs.ext4").string() + "}\n");
}

std::vector<std::string> host_args(const fs::path& dir) {
  return {"--state-dir", (dir / "state").string(), "--run-dir", (dir / "run").string(), "--firecracker", g_fake};
}

pid_t start_watcher(const fs::path& dir) {
  std::vector<std::string> argv{g_banger, "watch", (dir / "m").string()};
  for (const auto& a : host_args(dir)) argv.push_back(a);
  std::string log = (dir / "watch.log").string();
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) dup2(fileno(f), 1), dup2(fileno(f), 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(50ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

void delete_all(const fs::path& dir) {
  std::string cmd = g_banger + " delete -f " + (dir / "m").string() + " --ignore-not-found -q";
  for (const auto& a : host_args(dir)) cmd += " " + a;
  cmd += " >>" + (dir / "bench.log").string() + " 2>&1";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "delete failed: see %s\n", (dir / "bench.log").c_str());
}

bool instance_started(const fs::path& dir, const std::string& vm) {
  std::ifstream f(dir / "run" / "vms" / vm / "firecracker.sock.requests.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    if (line.find("InstanceStart") != std::string::npos) return true;
  }
  return false;
}

// Reads what the watcher's log gained since the last call.
class LogTail {
 public:
  explicit LogTail(fs::path path) : path_(std::move(path)) {}
  bool saw(const std::string& needle) {
    std::ifstream f(path_);
    f.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    seen_ += chunk;
    if (seen_.find(needle) != std::string::npos) return true;
    // Keep a tail long enough for a needle cut across two reads.
    if (seen_.size() > 4096) seen_.erase(0, seen_.size() - 256);
    return false;
  }

 private:
  fs::path path_;
  size_t offset_ = 0;
  std::string seen_;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void print_stats(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  std::printf("  %-40s median %7.1f ms   max %7.1f ms   min %7.1f ms\n", what, median, v.back(), v.front());
}

int latency(const fs::path& dir, int samples) {
  write_base(dir);
  pid_t w = start_watcher(dir);
  std::this_thread::sleep_for(1500ms);  // the start reconcile (network, kernel, image)
  std::vector<double> to_plan, to_process, to_start;
  LogTail log(dir / "watch.log");
  log.saw("");
  int rc = 0;
  for (int i = 0; i < samples; ++i) {
    std::string vm = "lat-" + std::to_string(i);
    fs::path sock = dir / "run" / "vms" / vm / "firecracker.sock";
    auto t0 = Clock::now();
    write_file(dir / "m" / "vms" / (vm + ".yaml"), vm_doc(vm));
    std::optional<Clock::time_point> planned, up, started;
    while (Clock::now() - t0 < 20s && !started) {
      // The plan's change lines are logged as soon as the plan is made,
      // before any action runs.
      if (!planned && log.saw("+ VM/" + vm + "\n")) planned = Clock::now();
      if (!up && fs::exists(sock)) up = Clock::now();
      if (up && instance_started(dir, vm)) started = Clock::now();
      if (!started) std::this_thread::sleep_for(1ms);
    }
    if (!started) {
      std::printf("  %s did not start within 20 s (see %s)\n", vm.c_str(), (dir / "watch.log").c_str());
      rc = 1;
      break;
    }
    if (planned) to_plan.push_back(ms(*planned - t0));
    to_process.push_back(ms(*up - t0));
    to_start.push_back(ms(*started - t0));
    std::this_thread::sleep_for(400ms);  // let the reconcile finish before the next write
  }
  if (!to_process.empty()) {
    std::printf("file write -> VM, %zu samples (debounce 200ms):\n", to_process.size());
    if (!to_plan.empty()) print_stats("plan made (its lines in the log)", to_plan);
    print_stats("process up (API socket exists)", to_process);
    print_stats("InstanceStart received", to_start);
  }
  stop(w);
  delete_all(dir);
  return rc;
}

uint64_t cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

int idle_cpu(const fs::path& dir, int n, int seconds) {
  write_base(dir);
  std::string all;
  for (int i = 0; i < n; ++i) all += (i ? "---\n" : "") + vm_doc("idle-" + std::to_string(i));
  write_file(dir / "m" / "vms.yaml", all);
  auto t0 = Clock::now();
  pid_t w = start_watcher(dir);
  int running = 0;
  while (Clock::now() - t0 < 600s) {
    running = 0;
    for (int i = 0; i < n; ++i) running += instance_started(dir, "idle-" + std::to_string(i)) ? 1 : 0;
    if (running == n) break;
    std::this_thread::sleep_for(100ms);
  }
  std::printf("watcher start with %d VMs: all running after %.1f s\n", n, ms(Clock::now() - t0) / 1000);
  if (running != n) {
    std::printf("  only %d of %d started (see %s)\n", running, n, (dir / "watch.log").c_str());
    stop(w);
    delete_all(dir);
    return 1;
  }
  std::this_thread::sleep_for(3s);  // the start reconcile's tail
  uint64_t before = cpu_ticks(w);
  auto t1 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  uint64_t after = cpu_ticks(w);
  double secs = std::chrono::duration<double>(Clock::now() - t1).count();
  double cpu_s = static_cast<double>(after - before) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::printf("idle with %d VMs over %.0f s (resync 30s): %.2f s CPU = %.3f%% of one core\n", n, secs, cpu_s,
              100.0 * cpu_s / secs);
  stop(w);
  delete_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BANGER_BIN FAKE_FIRECRACKER_BIN [samples=20] [idle_vms=100] [idle_s=90]\n", argv[0]);
    return 2;
  }
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bench_watch needs root (a private network namespace)\n");
    return 2;
  }
  std::system("ip link set lo up");
  g_banger = argv[1];
  g_fake = argv[2];
  int samples = argc > 3 ? std::atoi(argv[3]) : 20;
  int idle_vms = argc > 4 ? std::atoi(argv[4]) : 100;
  int idle_s = argc > 5 ? std::atoi(argv[5]) : 90;
  fs::path base = fs::temp_directory_path() / ("banger-bench-watch-" + std::to_string(getpid()));
  int rc = latency(base / "latency", samples);
  if (idle_vms > 0) rc |= idle_cpu(base / "idle", idle_vms, idle_s);
  if (rc == 0) fs::remove_all(base);
  else std::printf("logs kept under %s\n", base.c_str());
  return rc;
}
