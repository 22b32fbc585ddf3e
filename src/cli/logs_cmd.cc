#include "cli/logs_cmd.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/host_flags.h"
#include "common/reader_group.h"
#include "drivers/process.h"
#include "reconciler/recorded_vm.h"
#include "state/store.h"

namespace banger::cli {

namespace {

struct LogsOptions {
  std::string name;
  bool follow = false;
  int tail = -1;
};

std::atomic<bool> g_interrupted{false};

// Prints the last `tail` lines (all when negative) and returns the offset read up to.
std::streamoff print_tail(const std::string& path, int tail) {
  std::ifstream f(path, std::ios::binary);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    lines.push_back(line);
    if (tail >= 0 && static_cast<int>(lines.size()) > tail) lines.pop_front();
  }
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout.flush();
  std::ifstream end(path, std::ios::binary | std::ios::ate);
  return end.tellg();
}

int run_logs(const LogsOptions& o, const GlobalOptions& g) {
  // Without root: read-only, as a member of the group banger may.
  Store store(g.state_dir, geteuid() == 0 ? Store::Access::ReadWrite : Store::Access::ReadOnly);
  auto vm = store.vm(o.name);
  if (!vm) {
    std::cerr << "Error: VM/" << o.name << " not found\n";
    return kExitError;
  }
  auto rt = store.runtime(o.name);
  std::string log = rt && !rt->log_path.empty() ? rt->log_path : g.run_dir + "/vms/" + o.name + "/console.log";
  if (::access(log.c_str(), R_OK) != 0) {
    if (errno == EACCES) {
      std::cerr << "Error: VM/" << o.name << ": cannot read " << log << ": " << std::strerror(EACCES)
                << " (readers need membership in the group " << kReaderGroup
                << "; a log made before that group existed is shared from the VM's next start)\n";
      return kExitError;
    }
    std::cerr << "Error: VM/" << o.name << " has no log yet (" << log << "): it has not been started\n";
    return kExitError;
  }
  std::streamoff pos = print_tail(log, o.tail);
  if (!o.follow) return kExitOk;
  // Follow until Ctrl-C or until the VM's process is gone (kubectl logs -f
  // ends with the container), printing what is appended.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = true; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ProcessIdentity p = rt ? recorded_process(*rt) : ProcessIdentity{};
  while (!g_interrupted) {
    bool alive = rt && is_running(p);
    std::ifstream f(log, std::ios::binary);
    f.seekg(pos);
    std::string chunk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (!chunk.empty()) {
      std::cout << chunk << std::flush;
      pos += static_cast<std::streamoff>(chunk.size());
    }
    if (!alive) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return kExitOk;
}

}  // namespace

void add_logs_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "Print a VM's serial console and hypervisor log");
  cmd->footer("Examples:\n  banger logs web-1\n  banger logs web-1 -f --tail 20");
  cmd->add_option("name", o->name, "VM name")->required();
  cmd->add_flag("-f,--follow", o->follow, "Keep printing what the VM writes until it stops or Ctrl-C");
  cmd->add_option("--tail", o->tail, "Only the last N lines (default: all)")->check(CLI::NonNegativeNumber);
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_logs(*o, g); }; });
}

}  // namespace banger::cli
