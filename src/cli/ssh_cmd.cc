#include "cli/ssh_cmd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include "cli/host_flags.h"
#include "common/host_error.h"
#include "drivers/probe.h"
#include "drivers/process.h"
#include "drivers/vm_files.h"
#include "reconciler/applied_spec.h"
#include "reconciler/disk_manager.h"
#include "reconciler/guest_prepare.h"
#include "reconciler/recorded_vm.h"
#include "resources/label_selector.h"
#include "state/store.h"

namespace banger::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct SshTarget {
  std::string name;
  std::string ip;
  std::string user;
  std::string known_hosts;
  bool pinned = false;  ///< banger gave the guest its host key
};

struct SshOptions {
  std::vector<std::string> names;
  std::string identity;  ///< -i: a private key file, besides the agent's and ~/.ssh's
  std::string selector;  ///< exec -l: the VMs whose labels match, instead of names
  std::vector<std::string> command;
  int timeout_s = 120;
};

// What `banger ssh NAME` connects to, from the state alone (no manifests):
// the recorded address, the applied ssh.user and the VM's known_hosts.
std::optional<SshTarget> target_of(Store& store, const GlobalOptions& g, const std::string& name, bool need_running,
                                   std::string& why) {
  auto vm = store.vm(name);
  auto res = store.resource("VM", name);
  if (!vm && !res) {
    why = "VM/" + name + " not found (banger get vms lists them)";
    return std::nullopt;
  }
  if (!vm || vm->ip.empty()) {
    why = "VM/" + name + " has no address yet (it was never started; run banger apply)";
    return std::nullopt;
  }
  if (need_running) {
    auto rt = store.runtime(name);
    if (!rt || !is_running(recorded_process(*rt))) {
      why = "VM/" + name + " is not running (banger get vms shows its state)";
      return std::nullopt;
    }
  }
  SshTarget t{name, vm->ip, "root", "", false};
  if (res) t.user = applied_vm(*res).ssh_user();
  const std::string dir = DiskManager(store, g.state_dir).vm_dir(name);
  t.known_hosts = known_hosts_file(dir);
  t.pinned = !pinned_host_key(dir).empty();
  return t;
}

// ssh's own options: the pinned file, the VM's name as the key's alias, and
// never a prompt about an unknown key.
std::vector<std::string> ssh_argv(const std::string& ssh, const SshTarget& t, bool batch,
                                  const std::string& identity) {
  std::vector<std::string> a{ssh,
                             "-o", "UserKnownHostsFile=" + t.known_hosts,
                             "-o", "GlobalKnownHostsFile=/dev/null",
                             "-o", "HostKeyAlias=" + t.name,
                             // Without a key banger gave the guest: the first key seen is
                             // recorded, and a changed one refused (trust on first use).
                             "-o", std::string("StrictHostKeyChecking=") + (t.pinned ? "yes" : "accept-new"),
                             "-o", "ConnectTimeout=10",
                             "-l", t.user};
  if (batch) a.insert(a.end(), {"-T", "-o", "BatchMode=yes"});
  if (!identity.empty()) a.insert(a.end(), {"-i", identity});
  a.push_back(t.ip);
  return a;
}

// ssh hands the remote side one command line, which its shell splits
// again. One word is that line, as with ssh itself (`-- 'ls | wc -l'`);
// several keep their boundaries (`-- sh -c 'exit 7'`), each quoted for a
// POSIX shell.
std::vector<std::string> remote_words(const std::vector<std::string>& cmd) {
  if (cmd.size() <= 1) return cmd;
  std::vector<std::string> out;
  for (const std::string& w : cmd) {
    bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                   "-_./=:,+@%") == std::string::npos;
    if (plain) {
      out.push_back(w);
      continue;
    }
    std::string q = "'";
    for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out.push_back(q + "'");
  }
  return out;
}

// Until the guest's port 22 answers: under TCG a boot takes some seconds.
bool wait_for_ssh(const SshTarget& t, int timeout_s, bool quiet) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  bool said = false;
  // The readiness probes' own TCP connect (drivers/probe.h).
  auto answers = [&] { return probe_all({ProbeTarget{t.ip, 22, false, "/"}}, std::chrono::milliseconds(500))[0].ok; };
  while (!answers()) {
    if (Clock::now() >= deadline) {
      if (said) std::cerr << "\n";
      std::cerr << "Error: VM/" << t.name << ": nothing answered on " << t.ip << ":22 within " << timeout_s
                << " s (is an SSH server in the image? banger logs " << t.name << " shows its console)\n";
      return false;
    }
    if (!said && !quiet) {
      std::cerr << "waiting for VM/" << t.name << "'s SSH server on " << t.ip << ":22 ..." << std::flush;
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (said) std::cerr << " up\n";
  return true;
}

std::string find_ssh() {
  auto ssh = search_path("ssh");
  if (!ssh) {
    throw HostError("the OpenSSH client (ssh) is not installed (apt-get install openssh-client)",
                    ErrorCode::NotFound);
  }
  return *ssh;
}

// ssh as a child, its output to `out`/`err` (-1: banger's own). The child
// only calls async-signal-safe functions: the argv is built before the fork.
pid_t spawn(const std::vector<std::string>& argv, int out, int err) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if ((out >= 0 && ::dup2(out, 1) < 0) || (err >= 0 && ::dup2(err, 2) < 0)) _exit(127);
    ::execv(a[0], a.data());
    _exit(127);
  }
  if (pid < 0) throw HostError::from_errno("fork for ssh", errno);
  return pid;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

void explain_refusal(const SshTarget& t) {
  if (t.pinned) {
    std::cerr << "banger: if ssh refused VM/" << t.name << "'s host key above, the guest does not have the key banger "
              << "gave it (" << t.known_hosts << "): something changed it. banger apply --replace gives the VM a new "
              << "disk and a new key.\n";
  } else {
    std::cerr << "banger: if ssh refused VM/" << t.name << "'s host key above, it changed since the first connection. "
              << "If you trust the new one: ssh-keygen -R " << t.name << " -f " << t.known_hosts << "\n";
  }
}

int run_one(const std::vector<std::string>& argv) {
  pid_t pid = spawn(argv, -1, -1);
  // Ctrl-C reaches ssh (same process group); banger waits for its verdict.
  signal(SIGINT, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  signal(SIGINT, SIG_DFL);
  return exit_code_of(status);
}

// The same command on several VMs at once, each line of its output
// prefixed with the VM's name (as `kubectl logs --prefix`). Standard input
// cannot be shared, so each gets none.
int exec_many(const std::vector<SshTarget>& targets, const std::string& ssh, const std::vector<std::string>& cmd,
              const std::string& identity) {
  struct Running {
    const SshTarget* t;
    pid_t pid;
    int fds[2];            // stdout, stderr read ends
    std::string partial[2];
  };
  std::vector<Running> runs;
  for (const SshTarget& t : targets) {
    std::vector<std::string> argv = ssh_argv(ssh, t, true, identity);
    argv.insert(argv.begin() + 1, "-n");
    argv.push_back("--");
    for (const std::string& w : remote_words(cmd)) argv.push_back(w);
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw HostError::from_errno("pipe for ssh", errno);
    pid_t pid = spawn(argv, out[1], err[1]);
    ::close(out[1]);
    ::close(err[1]);
    runs.push_back({&t, pid, {out[0], err[0]}, {}});
  }
  auto emit = [](const Running& r, int which, const std::string& line) {
    (which == 0 ? std::cout : std::cerr) << r.t->name << ": " << line << "\n" << std::flush;
  };
  size_t open_fds = runs.size() * 2;
  while (open_fds > 0) {
    std::vector<pollfd> pfds;
    std::vector<std::pair<size_t, int>> who;
    for (size_t i = 0; i < runs.size(); ++i) {
      for (int k = 0; k < 2; ++k) {
        if (runs[i].fds[k] < 0) continue;
        pfds.push_back({runs[i].fds[k], POLLIN, 0});
        who.emplace_back(i, k);
      }
    }
    if (::poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw HostError::from_errno("poll", errno);
    }
    for (size_t j = 0; j < pfds.size(); ++j) {
      if (!pfds[j].revents) continue;
      auto [i, k] = who[j];
      Running& r = runs[i];
      char buf[4096];
      ssize_t n = ::read(r.fds[k], buf, sizeof buf);
      if (n > 0) {
        r.partial[k].append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = r.partial[k].find('\n')) != std::string::npos) {
          emit(r, k, r.partial[k].substr(0, nl));
          r.partial[k].erase(0, nl + 1);
        }
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        if (!r.partial[k].empty()) emit(r, k, r.partial[k]);
        ::close(r.fds[k]);
        r.fds[k] = -1;
        --open_fds;
      }
    }
  }
  int worst = 0;
  for (const Running& r : runs) {
    int status = 0;
    while (::waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
    }
    int rc = exit_code_of(status);
    if (rc != 0) std::cerr << r.t->name << ": exited " << rc << "\n";
    if (rc == 255) explain_refusal(*r.t);
    worst = std::max(worst, rc);
  }
  return worst;
}

int run_ssh(const SshOptions& o, const GlobalOptions& g, bool exec) {
  if (!require_root(exec ? "exec" : "ssh", g)) return kExitError;
  Store store(g.state_dir);
  std::vector<std::string> names = o.names;
  if (!o.selector.empty()) {
    std::optional<LabelSelector> sel;
    if (!parse_selector_flag(o.selector, sel)) return kExitError;
    for (const ResourceRecord& r : store.resources()) {
      if (r.kind == "VM" && sel->matches(applied_vm(r).metadata.labels)) names.push_back(r.name);
    }
    if (names.empty()) {
      std::cerr << "Error: no VM has labels matching " << o.selector << " (banger get vms -o wide lists them)\n";
      return kExitError;
    }
  }
  std::vector<SshTarget> targets;
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) continue;  // a VM named twice runs the command once
    std::string why;
    auto t = target_of(store, g, n, true, why);
    if (!t) {
      std::cerr << "Error: " << why << "\n";
      return kExitError;
    }
    targets.push_back(*t);
  }
  const std::string ssh = find_ssh();
  for (const auto& t : targets) {
    if (!wait_for_ssh(t, o.timeout_s, g.quiet)) return kExitError;
  }
  if (targets.size() == 1) {
    std::vector<std::string> argv = ssh_argv(ssh, targets[0], exec, o.identity);
    if (!o.command.empty()) {
      argv.push_back("--");
      for (const std::string& w : remote_words(o.command)) argv.push_back(w);
    }
    int rc = run_one(argv);
    if (rc == 255) explain_refusal(targets[0]);
    return rc;
  }
  return exec_many(targets, ssh, o.command, o.identity);
}

int run_ssh_config(const std::vector<std::string>& names, const GlobalOptions& g) {
  if (!require_root("ssh-config", g)) return kExitError;
  Store store(g.state_dir);
  std::vector<std::string> all = names;
  if (all.empty()) {
    for (const auto& vm : store.vms()) all.push_back(vm.name);
  }
  int rc = kExitOk;
  for (const auto& n : all) {
    std::string why;
    auto t = target_of(store, g, n, false, why);
    if (!t) {
      std::cerr << "Error: " << why << "\n";
      rc = kExitError;
      continue;
    }
    std::cout << "Host " << t->name << "\n"
              << "  HostName " << t->ip << "\n"
              << "  User " << t->user << "\n"
              << "  HostKeyAlias " << t->name << "\n"
              << "  UserKnownHostsFile " << t->known_hosts << "\n"
              << "  GlobalKnownHostsFile /dev/null\n"
              << "  StrictHostKeyChecking " << (t->pinned ? "yes" : "accept-new") << "\n\n";
  }
  return rc;
}

}  // namespace

void add_ssh_commands(CLI::App& app, const GlobalOptions& g, std::function<int()>& run,
                      const std::vector<std::string>& remote) {
  auto so = std::make_shared<SshOptions>();
  CLI::App* ssh = app.add_subcommand("ssh", "Log in to a VM with OpenSSH, its host key pinned");
  ssh->footer("Examples:\n  banger ssh web\n  banger ssh web -- uptime\n\nUses the VM's address and spec.guest.ssh.user, "
              "your own agent and keys, and the host key banger gave the VM (strict checking; no prompt).");
  ssh->add_option("name", so->names, "VM name")->required()->expected(1);
  ssh->add_option("-i,--identity", so->identity, "A private key file for ssh -i (besides your agent and ~/.ssh)");
  ssh->add_option("--timeout", so->timeout_s, "Seconds to wait for the VM's SSH server (default 120)")
      ->check(CLI::PositiveNumber);
  ssh->callback([&run, so, &g, &remote] {
    so->command = remote;
    run = [so, &g] { return run_ssh(*so, g, false); };
  });

  auto eo = std::make_shared<SshOptions>();
  CLI::App* ex = app.add_subcommand("exec", "Run a command in one or more VMs over SSH (no TTY)");
  ex->footer("Examples:\n  banger exec web -- uname -a\n  banger exec web-1 web-2 -- systemctl is-active nginx\n"
             "  banger exec -l app=web -- uptime\n\n"
             "One VM: its standard input is passed through and banger exits with the command's exit code. Several: "
             "they run at once, each output line prefixed with the VM's name; the exit code is the largest.");
  ex->add_option("names", eo->names, "VM names, then -- and the command");
  ex->add_option("-l,--selector", eo->selector, "The VMs whose labels match, e.g. -l app=web (kubectl's syntax: =, !=, in (a,b), notin (a,b), key, !key)");
  ex->add_option("-i,--identity", eo->identity, "A private key file for ssh -i (besides your agent and ~/.ssh)");
  ex->add_option("--timeout", eo->timeout_s, "Seconds to wait for each VM's SSH server (default 120)")
      ->check(CLI::PositiveNumber);
  ex->callback([&run, eo, &g, &remote] {
    eo->command = remote;
    run = [eo, &g] {
      if (eo->command.empty()) {
        std::cerr << "Error: exec needs a command after --, e.g. banger exec web -- uname -a\n";
        return static_cast<int>(kExitError);
      }
      if (eo->names.empty() == eo->selector.empty()) {
        std::cerr << "Error: exec needs VM names or -l SELECTOR (one of them), e.g. banger exec -l app=web -- uptime\n";
        return static_cast<int>(kExitError);
      }
      return run_ssh(*eo, g, true);
    };
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* cfg = app.add_subcommand("ssh-config", "Print ~/.ssh/config Host blocks for VMs");
  cfg->footer("Examples:\n  banger ssh-config >> ~/.ssh/config   # then: ssh web, scp, rsync, editors' remote modes");
  cfg->add_option("names", *names, "VM names (default: every VM banger has)");
  cfg->callback([&run, names, &g] { run = [names, &g] { return run_ssh_config(*names, g); }; });
}

}  // namespace banger::cli
