// `banger watch --git` figures, on the fake Firecracker inside a private
// network namespace (needs root, and the git command to make the commits):
//  1. push to running: from the start of `git push` of a commit that adds a
//     VM to that VM's process being up (its API socket exists), with
//     `--interval 1s`, over `samples` commits: median and max;
//  2. the cost of an idle fetch (the remote has nothing new): wall time of
//     GitSource::fetch in this process over 200 fetches, and the watcher's
//     own CPU while idle over `idle_s` seconds with --interval 1s.
// Usage: bench_git BANGER_BIN FAKE_FIRECRACKER_BIN [samples=10] [idle_s=10]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_netns.h"
#include "drivers/git_source.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string git(const fs::path& work) {
  return "git -C " + work.string() + " -c user.name=bench -c user.email=bench@example.com ";
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_git BANGER_BIN FAKE_FIRECRACKER_BIN [samples=10] [idle_s=10]\n");
    return 2;
  }
  const std::string banger = fs::absolute(argv[1]).string(), fake = fs::absolute(argv[2]).string();
  const int samples = argc > 3 ? std::atoi(argv[3]) : 10;
  const int idle_s = argc > 4 ? std::atoi(argv[4]) : 10;
  if (sh("command -v git >/dev/null") != 0) {
    std::fprintf(stderr, "bench_git needs the git command (apt-get install git)\n");
    return 1;
  }
  if (!banger::bench::enter_private_netns("bench_git")) return 1;
  char tmpl[] = "/tmp/banger-bench-git-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const fs::path origin = dir / "origin.git", work = dir / "work";
  std::ofstream(dir / "vmlinux") << std::string(4096, 'k');
  { std::ofstream img(dir / "rootfs.ext4"); }
  fs::resize_file(dir / "rootfs.ext4", 1 << 20);
  sh("git init -q --bare -b main " + origin.string() + " && git clone -q " + origin.string() + " " + work.string() +
     " 2>/dev/null");
  write(work / "fleet/base.yaml",
        "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: bench}\nspec: {subnet: 10.92.0.0/20}\n"
        "---\napiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: " + (dir / "vmlinux").string() +
            "}\n---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\nspec: {path: " +
            (dir / "rootfs.ext4").string() + "}\n");
  sh(git(work) + "add -A && " + git(work) + "commit -qm base && " + git(work) + "push -q origin main");

  const std::string host = " --state-dir " + (dir / "state").string() + " --run-dir " + (dir / "run").string() +
                           " --firecracker " + fake + " --stop-timeout 1s";
  pid_t watcher = fork();
  if (watcher == 0) {
    FILE* f = std::fopen((dir / "watch.log").c_str(), "a");
    if (f) dup2(fileno(f), 1), dup2(fileno(f), 2);
    execl("/bin/sh", "sh", "-c",
          ("exec " + banger + " watch --git file://" + origin.string() + " --path fleet --interval 1s" + host).c_str(),
          nullptr);
    _exit(127);
  }
  auto converged = [&] {
    std::ifstream f(dir / "state/git/status.json");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  for (auto end = Clock::now() + 20s; converged().empty() && Clock::now() < end;) std::this_thread::sleep_for(20ms);

  std::vector<double> push_to_up;
  for (int i = 0; i < samples; ++i) {
    const std::string name = "vm-" + std::to_string(i);
    write(work / "fleet" / (name + ".yaml"),
          "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: " + name +
              "}\nspec: {kernel: k, image: i, network: bench, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n");
    sh(git(work) + "add -A && " + git(work) + "commit -qm " + name);
    const fs::path sock = dir / "run/vms" / name / "firecracker.sock";
    const auto t0 = Clock::now();
    sh(git(work) + "push -q origin main");
    while (!fs::exists(sock) && Clock::now() - t0 < 30s) std::this_thread::sleep_for(5ms);
    if (!fs::exists(sock)) {
      std::fprintf(stderr, "%s never came up; see %s\n", name.c_str(), (dir / "watch.log").c_str());
      break;
    }
    push_to_up.push_back(ms(Clock::now() - t0));
    // Apart from the fetch interval's phase: each push lands at another
    // point of it, as pushes do.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 * (i % 7)));
  }
  std::sort(push_to_up.begin(), push_to_up.end());
  if (!push_to_up.empty()) {
    std::printf("git push -> VM process up (--interval 1s, %zu commits): median %.0f ms, min %.0f ms, max %.0f ms\n",
                push_to_up.size(), push_to_up[push_to_up.size() / 2], push_to_up.front(), push_to_up.back());
  }

  // Idle: the watcher's CPU over idle_s seconds of fetches that find nothing.
  std::this_thread::sleep_for(1500ms);
  const double cpu0 = cpu_seconds(watcher);
  std::this_thread::sleep_for(std::chrono::seconds(idle_s));
  const double cpu = cpu_seconds(watcher) - cpu0;
  std::printf("watcher idle over %d s (%d fetches, %d VMs): %.3f s CPU = %.2f ms per fetch\n", idle_s, idle_s,
              samples, cpu, cpu * 1000.0 / idle_s);

  // An idle fetch alone, in this process: libgit2 over file://.
  {
    banger::GitSource src("file://" + origin.string(), "main", (dir / "bench-clone").string(), {});
    src.fetch();
    const int n = 200;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) src.fetch();
    std::printf("idle fetch (file://, nothing new): %.3f ms each (mean of %d)\n", ms(Clock::now() - t0) / n, n);
  }

  kill(watcher, SIGTERM);
  waitpid(watcher, nullptr, 0);
  sh(banger + " delete -f " + (work / "fleet").string() + host + " >/dev/null 2>&1");
  fs::remove_all(dir);
  return 0;
}
