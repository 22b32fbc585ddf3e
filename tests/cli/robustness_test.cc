// The validator never crashes, never hangs, and always ends with a verdict:
// in-process mutation fuzzing of the manifest loader, and hostile inputs
// (huge, deep, binary, endless, unreadable, looping) through the real binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "resources/manifest_loader.h"
#include "run_command.h"

namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using banger::Diagnostic;
using banger::LoadResult;
using banger::SourceText;
using banger::test::CommandResult;
using banger::test::run_command;
using banger::test::TempDir;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ helpers

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string describe(const CommandResult& r) {
  std::ostringstream s;
  s << "exit " << r.exit_code << ", signal " << r.signal << "\nstdout: " << r.out.substr(0, 2000)
    << "\nstderr: " << r.err.substr(0, 2000);
  return s.str();
}

// A printable rendering of arbitrary bytes for failure messages.
std::string escaped(const std::string& s, size_t max = 600) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

// A verdict from `banger validate`: 0 with "valid:" or 1 with an error
// message, and never a signal.
void expect_verdict(const CommandResult& r, const std::string& what) {
  EXPECT_EQ(r.signal, 0) << what << ": killed\n" << describe(r);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << what << "\n" << describe(r);
  if (r.exit_code == 0) {
    EXPECT_NE(r.out.find("valid"), std::string::npos) << what << "\n" << describe(r);
  }
  if (r.exit_code == 1) {
    EXPECT_FALSE(r.err.empty()) << what << ": exit 1 without a message\n" << describe(r);
  }
}

void expect_invalid(const CommandResult& r, const std::string& what) {
  EXPECT_EQ(r.signal, 0) << what << ": killed\n" << describe(r);
  EXPECT_EQ(r.exit_code, 1) << what << "\n" << describe(r);
  EXPECT_FALSE(r.err.empty()) << what << "\n" << describe(r);
}

// ASan reserves terabytes of address space for its shadow memory, so a
// sanitized build (make test-sanitize sets BANGER_SANITIZED) runs uncapped.
bool cap_address_space() { return std::getenv("BANGER_SANITIZED") == nullptr; }

// The banger binary with its address space capped (a runaway parser stops
// at 4 GiB instead of taking the machine) and a timeout (a hang is killed
// and shows as a signal).
CommandResult banger_capped(const std::vector<std::string>& args, const std::string& stdin_text = "",
                            int timeout_s = 20) {
  std::vector<std::string> argv;
  if (cap_address_space() && access("/usr/bin/prlimit", X_OK) == 0) {
    argv = {"/usr/bin/prlimit", "--as=" + std::to_string(4ull << 30), "--"};
  }
  argv.push_back(BANGER_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, stdin_text, timeout_s);
}

// Ignores SIGPIPE while alive: a test that feeds stdin to a process that
// stops reading early must not be killed by the write.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_);
  }
  ~IgnoreSigpipe() { sigaction(SIGPIPE, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

// ------------------------------------------------------------ fuzz corpus

// Seeds that reach every kind and every field, so mutations reach every decoder.
const char* kRichSeed = R"(# every kind, every field
apiVersion: banger.dev/v1
kind: Network
metadata:
  name: fleet
  labels: {env: dev, example.com/owner: ops}
spec:
  subnet: 10.42.0.0/24
  bridge: bg-fleet
  nat: true
---
apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: debian-12}
spec:
  url: https://example.com/vmlinuz
  sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  initrd:
    path: ../initrd.img
    sha256: 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
  args: console=ttyS0 reboot=k panic=1
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: rootfs}
spec: {path: /srv/rootfs.ext4}
---
apiVersion: banger.dev/v1
kind: VM
metadata:
  name: web-1
  labels:
    app: web
spec:
  kernel: debian-12
  image: rootfs
  vcpus: 2
  memory: 1.5Gi
  diskSize: 0x100000000
  network: fleet
  ip: 10.42.0.11
  kernelArgs: quiet
  state: running
  restartPolicy: on-failure
  runtime: firecracker
  diskStrategy: snapshot
  readiness:
    http: {port: 8080, path: /healthz}
    timeout: 1m30s
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: web-2}
spec: {kernel: debian-12, image: rootfs, ip: 10.42.0.12, network: fleet, readiness: {tcp: 22, timeout: 90}}
---
apiVersion: banger.dev/v1
kind: PortForward
metadata: {name: web-1-http}
spec: {vm: web-1, hostPort: 8080, guestPort: 80, protocol: tcp, hostAddress: 127.0.0.1}
---
apiVersion: banger.dev/v1
kind: PortForward
metadata: {name: dns}
spec:
  vm: web-2
  hostPort: 53
  guestPort: 53
  protocol: udp
)";

struct Seed {
  std::string name;
  std::string text;
};

std::vector<Seed> fuzz_seeds() {
  std::vector<Seed> seeds;
  for (const char* dir : {"examples/manifests", "tests/manifests/good"}) {
    fs::path root = fs::path(BANGER_SOURCE_DIR) / dir;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      auto ext = it->path().extension();
      if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) seeds.push_back({fs::relative(f, BANGER_SOURCE_DIR).string(), read_all(f)});
  }
  seeds.push_back({"rich.yaml", kRichSeed});
  return seeds;
}

const std::vector<std::string> kTokens = {
    std::string(1, '\0'), "\xff", "\xfe\xff", "\t", "{", "}", "[", "]", "&anchor ", "*anchor", "*alias",
    "&a ", "*a", "!!tag ", "!!str ", "!!int ", "!!map ", "!custom ", "! ", ": ", ":", "- ", "-",
    "? ", "---\n", "...\n", "\"", "'", "#", "|", ">", "|-\n", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n",
    "<<: *a\n", ",", "\\", "\\x00", "\\u0000", "\r", "\r\n", "\n", "  ", "\xc3", "\xe2\x80\xa8",
    "\xef\xbb\xbf", "~", "null", "true", "0x", "0o", "-1", "99999999999999999999", "1e400",
    ".inf", "512Mi", "10.42.0.0/24", "apiVersion: banger.dev/v1\n", "kind: VM\n", "metadata:\n",
    "spec:\n", "name: ", "{a: [b, {c: d}]}", "[[[[", "]]]]", "{{{{", "}}}}", "@", "`", "%"};

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      if (start < s.size()) lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// One random edit; deterministic for a given generator state.
std::string mutate_once(std::string text, std::mt19937& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  std::vector<std::string> lines = split_lines(text);
  switch (rng() % 12) {
    case 0:  // delete a line
      if (!lines.empty()) lines.erase(lines.begin() + static_cast<long>(pick(lines.size())));
      return join_lines(lines);
    case 1:  // duplicate a line
      if (!lines.empty()) {
        size_t i = pick(lines.size());
        lines.insert(lines.begin() + static_cast<long>(i), lines[i]);
      }
      return join_lines(lines);
    case 2:  // swap two lines
      if (lines.size() > 1) std::swap(lines[pick(lines.size())], lines[pick(lines.size())]);
      return join_lines(lines);
    case 3:  // truncate at a random byte
      return text.substr(0, pick(text.size() + 1));
    case 4:  // flip bits of a few bytes
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n && !text.empty(); ++k) {
        text[pick(text.size())] ^= static_cast<char>(1 + rng() % 255);
      }
      return text;
    case 5:  // insert a YAML-significant token
    case 6: {
      const std::string& t = kTokens[pick(kTokens.size())];
      text.insert(pick(text.size() + 1), t);
      return text;
    }
    case 7: {  // insert random bytes
      std::string junk;
      for (size_t k = 0, n = 1 + pick(16); k < n; ++k) junk += static_cast<char>(rng() & 0xff);
      text.insert(pick(text.size() + 1), junk);
      return text;
    }
    case 8:  // change a line's indentation
      if (!lines.empty()) {
        std::string& l = lines[pick(lines.size())];
        int delta = static_cast<int>(rng() % 9) - 4;
        if (delta > 0) {
          l.insert(0, static_cast<size_t>(delta), rng() % 8 ? ' ' : '\t');
        } else {
          size_t strip = std::min(l.find_first_not_of(' '), static_cast<size_t>(-delta));
          if (strip != std::string::npos) l.erase(0, strip);
        }
      }
      return join_lines(lines);
    case 9:  // replace a value with another line's value
      if (lines.size() > 1) {
        std::string& a = lines[pick(lines.size())];
        const std::string& b = lines[pick(lines.size())];
        size_t ca = a.find(": "), cb = b.find(": ");
        if (ca != std::string::npos && cb != std::string::npos) a = a.substr(0, ca) + b.substr(cb);
      }
      return join_lines(lines);
    case 10:  // delete a random span
      if (!text.empty()) {
        size_t at = pick(text.size());
        text.erase(at, 1 + pick(64));
      }
      return text;
    default:  // move a line to another place
      if (lines.size() > 1) {
        size_t from = pick(lines.size());
        std::string l = lines[from];
        lines.erase(lines.begin() + static_cast<long>(from));
        lines.insert(lines.begin() + static_cast<long>(pick(lines.size() + 1)), l);
      }
      return join_lines(lines);
  }
}

std::string mutate(const std::string& text, std::mt19937& rng) {
  std::string out = text;
  for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i) out = mutate_once(out, rng);
  return out;
}

size_t line_count(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1; }

// What must hold for any input: the empty string, or why not.
std::string check_invariants(const std::vector<SourceText>& sources, const LoadResult& r) {
  std::map<std::string, size_t> lines;
  for (const auto& s : sources) lines[s.name] = line_count(s.text);
  if (r.diags.empty() && r.documents == 0) return "no diagnostics, yet no documents";
  for (const Diagnostic& d : r.diags.items()) {
    auto it = lines.find(d.mark.file);
    std::string f = d.format();
    if (it == lines.end()) return "diagnostic names a file that is not an input: " + f;
    if (d.mark.line < 0 || static_cast<size_t>(d.mark.line) > it->second + 1) {
      return "line out of range (file has " + std::to_string(it->second) + " lines): " + f;
    }
    if (d.mark.column < 0) return "negative column: " + f;
    if (d.mark.line == 0 && d.mark.column != 0) return "column without a line: " + f;
    if (d.message.empty()) return "empty message: " + f;
  }
  return "";
}

// --------------------------------------------------------- mutation fuzzing

// The inputs of mutation #i: one mutated file, sometimes two (cross-file checks).
std::vector<SourceText> fuzz_case(int i, const std::vector<Seed>& seeds) {
  std::mt19937 rng(static_cast<unsigned>(i) * 2654435761u + 1u);
  std::vector<SourceText> sources;
  const Seed& a = seeds[rng() % seeds.size()];
  sources.push_back(SourceText{a.name, "/srv/manifests", mutate(a.text, rng)});
  if (rng() % 5 == 0) {
    const Seed& b = seeds[rng() % seeds.size()];
    std::string name = b.name == a.name ? "other-" + b.name : b.name;
    sources.push_back(SourceText{name, "/srv/other", mutate(b.text, rng)});
  }
  return sources;
}

// "" when load_texts behaved, else what went wrong; sets *valid for a clean pass.
std::string run_case(const std::vector<SourceText>& sources, bool* valid) {
  *valid = false;
  try {
    LoadResult r = banger::load_texts(sources);
    std::string why = check_invariants(sources, r);
    *valid = why.empty() && r.ok();
    for (const Diagnostic& d : r.diags.sorted()) (void)d.format();
    return why;
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// The loop runs in a child process that reports each case over a pipe: a
// case that hangs, or allocates without end, is killed by the watchdog and
// reported with its input, and the loop goes on after it. One hung yaml-cpp
// call must not take the whole test binary (or the machine's memory) down.
TEST(Fuzz, MutatedManifestsNeverThrowHangOrLeaveTheirBounds) {
  const std::vector<Seed> seeds = fuzz_seeds();
  ASSERT_GE(seeds.size(), 2u) << "examples/manifests is missing";
  const int kTarget = 10000;
  const auto kBudget = std::chrono::seconds(20);  // the machine may be small and busy
  const int kCaseTimeoutMs = 5000;                 // a few ms is normal
  const auto t0 = Clock::now();
  const auto deadline = t0 + kBudget;

  int done = 0, failures = 0, valid = 0, restarts = 0;
  std::map<std::string, int> failure_kinds;
  std::vector<std::string> examples;
  auto record = [&](int i, const std::string& why) {
    ++failures;
    std::string kind = why.substr(0, why.find(':', why.find(':') + 1));
    if (failure_kinds[kind]++ < 2 && examples.size() < 6) {
      std::vector<SourceText> sources = fuzz_case(i, seeds);
      std::string ex = "mutation #" + std::to_string(i) + ": " + why;
      for (const auto& src : sources) ex += "\n--- " + src.name + " ---\n" + escaped(src.text, 1500);
      examples.push_back(ex);
    }
  };

  int next = 0;
  while (next < kTarget && Clock::now() < deadline) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      struct rlimit cap {3ull << 30, 3ull << 30};  // a runaway stops at 3 GiB
      if (cap_address_space()) setrlimit(RLIMIT_AS, &cap);
      FILE* out = fdopen(fds[1], "w");
      for (int i = next; i < kTarget && Clock::now() < deadline; ++i) {
        std::fprintf(out, "S %d\n", i);
        std::fflush(out);
        bool ok = false;
        std::string why = run_case(fuzz_case(i, seeds), &ok);
        if (!why.empty()) std::fprintf(out, "F %d %s\n", i, one_line(why).c_str());
        if (ok) std::fprintf(out, "V %d\n", i);
      }
      std::fprintf(out, "E\n");
      std::fclose(out);
      _exit(0);
    }
    close(fds[1]);
    int current = -1;
    bool ended = false, hung = false;
    std::string buf;
    while (!ended) {
      pollfd p{fds[0], POLLIN, 0};
      int n = poll(&p, 1, kCaseTimeoutMs);
      if (n == 0) {
        hung = true;
        break;
      }
      if (n < 0) continue;
      char chunk[4096];
      ssize_t got = read(fds[0], chunk, sizeof chunk);
      if (got <= 0) break;  // the child died
      buf.append(chunk, static_cast<size_t>(got));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (line == "E") {
          ended = true;
        } else if (line[0] == 'S') {
          current = std::stoi(line.substr(2));
          ++done;
        } else if (line[0] == 'V') {
          ++valid;
        } else if (line[0] == 'F') {
          size_t sp = line.find(' ', 2);
          record(std::stoi(line.substr(2, sp - 2)), line.substr(sp + 1));
        }
      }
    }
    if (hung) kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    if (ended) break;
    if (current < 0) {
      ADD_FAILURE() << "the fuzz worker died before its first case (status " << status << ")";
      break;
    }
    if (hung) {
      record(current, "hang: no verdict after " + std::to_string(kCaseTimeoutMs / 1000) + " s");
    } else {
      record(current, "crash: the worker ended with status " + std::to_string(status) +
                          (WIFSIGNALED(status) ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : ""));
    }
    ++restarts;
    next = current + 1;
  }

  double took = seconds_since(t0);
  std::cout << "[ fuzz     ] " << done << " mutations in " << took << " s, " << valid << " valid, "
            << failures << " failing, " << restarts << " worker restarts\n";
  EXPECT_GE(done, 500) << "too few mutations ran in the time budget";
  std::string kinds;
  for (const auto& [k, n] : failure_kinds) kinds += "  " + std::to_string(n) + " x " + k + "\n";
  std::string shown;
  for (const auto& e : examples) shown += e + "\n\n";
  EXPECT_EQ(failures, 0) << failures << " of " << done << " mutated inputs broke an invariant:\n"
                         << kinds << "\nexamples:\n" << shown;
}

TEST(Fuzz, SeedsThemselvesAreValid) {
  for (const Seed& s : fuzz_seeds()) {
    if (s.name != "rich.yaml") continue;  // the others may reference each other across files
    LoadResult r = banger::load_texts({SourceText{s.name, "/srv", s.text}});
    std::string out;
    for (const auto& d : r.diags.sorted()) out += d.format() + "\n";
    EXPECT_TRUE(r.ok()) << s.name << "\n" << out;
  }
  // The examples, together, are valid.
  std::istringstream none;
  LoadResult ex = banger::load_manifests({std::string(BANGER_SOURCE_DIR) + "/examples/manifests"}, none);
  std::string out;
  for (const auto& d : ex.diags.sorted()) out += d.format() + "\n";
  EXPECT_TRUE(ex.ok()) << out;
}

// A sample of the same mutations through the real binary and its exit codes.
TEST(Fuzz, MutationsThroughTheBinaryEndWithAVerdict) {
  const std::vector<Seed> seeds = fuzz_seeds();
  auto t0 = Clock::now();
  int done = 0;
  for (int i = 0; i < 60 && seconds_since(t0) < 20.0; ++i, ++done) {
    std::mt19937 rng(static_cast<unsigned>(i) * 40503u + 17u);
    const Seed& a = seeds[rng() % seeds.size()];
    std::string text = mutate(a.text, rng);
    CommandResult r = banger_capped({"validate", "-f", "-"}, text, 10);
    expect_verdict(r, "mutation #" + std::to_string(i) + " of " + a.name + ":\n" + escaped(text, 800));
    if (r.exit_code == 1 && r.signal == 0) {
      // Every problem is a diagnostic about the input, not a bare crash report.
      EXPECT_EQ(r.err.rfind("<stdin>", 0), 0u)
          << "mutation #" << i << " of " << a.name << ": stderr does not start with <stdin>\n"
          << describe(r) << "\ninput:\n" << escaped(text, 800);
    }
  }
  EXPECT_GE(done, 10);
}

// ------------------------------------------------------------- huge inputs

std::string many_vms(size_t min_bytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out =
      "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: vmlinuz}\n---\n"
      "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: root.ext4}\n---\n"
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: big}\nspec: {subnet: 10.0.0.0/16}\n";
  for (unsigned i = 0; out.size() < min_bytes; ++i) {
    out += "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: vm-" + std::to_string(i) +
           "\n  labels: {app: web, shard: s" + std::to_string(rng() % 100) +
           "}\nspec:\n  kernel: k\n  image: img\n  vcpus: " + std::to_string(1 + rng() % 32) +
           "\n  memory: " + std::to_string(16 + rng() % 4096) + "Mi\n  network: big\n" +
           (i < 65000 ? "  ip: 10.0." + std::to_string((i + 2) / 256) + "." + std::to_string((i + 2) % 256) + "\n"
                      : std::string()) +
           "  readiness: {tcp: 22, timeout: 30s}\n";
  }
  return out;
}

TEST(Huge, TenMegabytesOfVmsEndWithAVerdict) {
  TempDir dir;
  std::string text = many_vms(10 << 20, 1);
  std::string path = dir.write("big.yaml", text);
  auto t0 = Clock::now();
  CommandResult r = banger_capped({"validate", "-f", path}, "", 60);
  double took = seconds_since(t0);
  std::cout << "[ huge     ] " << (text.size() >> 20) << " MiB of VMs validated in " << took << " s\n";
  expect_verdict(r, "10 MB of VMs");
}

std::string many_networks(size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    // Distinct /29s inside 10.0.0.0/8: no two overlap.
    size_t block = i * 8;
    out += "---\napiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n-" + std::to_string(i) +
           "}\nspec: {subnet: 10." + std::to_string((block >> 16) & 255) + "." +
           std::to_string((block >> 8) & 255) + "." + std::to_string(block & 255) + "/29}\n";
  }
  return out;
}

// Validation must grow about linearly with the input: 4x the input may take
// about 4x (plus slack) the time, not 16x. A quadratic cross-check makes a
// 10 MB folder take close to a minute, and the corpus limit (32 MiB) far
// longer. Validates `make(n)` and `make(4n)`; the larger gets 10x the
// smaller's time. Returns both results for the caller's verdicts.
std::pair<CommandResult, CommandResult> validate_small_then_4x(const std::string& what, size_t n,
                                                               const std::function<std::string(size_t)>& make) {
  TempDir dir;
  std::string small = dir.write("small.yaml", make(n));
  std::string big = dir.write("big.yaml", make(4 * n));
  auto t0 = Clock::now();
  CommandResult rs = banger_capped({"validate", "-f", small}, "", 60);
  double t_small = seconds_since(t0);
  int budget = static_cast<int>(std::ceil(std::max(10 * t_small, 5.0)));
  t0 = Clock::now();
  CommandResult rb = banger_capped({"validate", "-f", big}, "", budget);
  double t_big = seconds_since(t0);
  std::cout << "[ huge     ] " << n << " " << what << ": " << t_small << " s; " << 4 * n << ": " << t_big
            << " s (budget " << budget << " s)\n";
  EXPECT_EQ(rb.signal, 0) << 4 * n << " " << what << " (" << (fs::file_size(big) >> 20) << " MiB) took more than "
                          << budget << " s, 10x the time of " << n << " (" << t_small << " s): quadratic\n"
                          << describe(rb);
  return {rs, rb};
}

TEST(Huge, CrossChecksScaleWithTheNumberOfNetworks) {
  auto [rs, rb] = validate_small_then_4x("networks", 25000, many_networks);
  expect_verdict(rs, "25000 networks");
  EXPECT_EQ(rs.exit_code, 0) << describe(rs);
  EXPECT_EQ(rb.exit_code, 0) << describe(rb);
}

// `count` VMs, and as many forwards that each name a VM that does not exist
// and share one host port on distinct addresses: every reference misses (a
// "did you mean" each) and every forward meets every earlier one on its port.
std::string dangling_forwards(size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    out += "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: vm-" + std::to_string(i) +
           "}\nspec: {kernel: k, image: i}\n---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: f-" +
           std::to_string(i) + "}\nspec: {vm: gone-" + std::to_string(i) + ", hostPort: 8080, guestPort: 80, " +
           "hostAddress: 127." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
           std::to_string(i & 255) + "}\n";
  }
  return out;
}

// The mutation probe's finding: 25,000 forwards naming a missing VM among
// 25,000 VMs took minutes (each reference scanned every VM and ran "did you
// mean" over all of them; each forward scanned every other on its port).
TEST(Huge, CrossChecksScaleWithTheNumberOfDanglingReferences) {
  auto [rs, rb] = validate_small_then_4x("dangling forwards", 3000, dangling_forwards);
  expect_invalid(rs, "3000 dangling forwards");
  EXPECT_NE(rs.err.find("small.yaml"), std::string::npos) << describe(rs);
  EXPECT_NE(rs.err.find("PortForward/f-2999: spec.vm: VM \"gone-2999\" does not exist"), std::string::npos);
  expect_invalid(rb, "12000 dangling forwards");
}

TEST(Huge, FortyMegabyteFileIsRefusedAsTooLarge) {
  TempDir dir;
  std::string text = many_vms(40 << 20, 2);
  std::string path = dir.write("huge.yaml", text);
  auto t0 = Clock::now();
  CommandResult r = banger_capped({"validate", "-f", path}, "", 60);
  double took = seconds_since(t0);
  expect_invalid(r, "40 MB file");
  EXPECT_NE(r.err.find("larger than"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("huge.yaml"), std::string::npos) << describe(r);
  EXPECT_LT(took, 20.0) << "a file that is refused for its size should not be parsed";
}

TEST(Huge, FortyMegabytesOnStdinAreRefusedAsTooLarge) {
  IgnoreSigpipe guard;
  std::string text(40 << 20, '#');
  CommandResult r = banger_capped({"validate", "-f", "-"}, text, 60);
  expect_invalid(r, "40 MB on stdin");
  EXPECT_NE(r.err.find("larger than"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("<stdin>"), std::string::npos) << describe(r);
}

TEST(Huge, EndlessDeviceIsRefused) {
  for (const char* dev : {"/dev/zero", "/dev/urandom"}) {
    if (access(dev, R_OK) != 0) continue;
    auto t0 = Clock::now();
    CommandResult r = banger_capped({"validate", "-f", dev});
    expect_invalid(r, dev);
    EXPECT_NE(r.err.find("larger than"), std::string::npos) << dev << "\n" << describe(r);
    EXPECT_LT(seconds_since(t0), 20.0) << dev;
  }
}

// ------------------------------------------------------------- deep inputs

TEST(Deep, HundredThousandOpenBrackets) {
  TempDir dir;
  std::string path = dir.write("deep.yaml", std::string(100000, '['));
  CommandResult r = banger_capped({"validate", "-f", path});
  expect_invalid(r, "100000 [");
  EXPECT_NE(r.err.find("deep.yaml"), std::string::npos) << describe(r);
}

TEST(Deep, BalancedBrackets) {
  TempDir dir;
  std::string path = dir.write("deep.yaml", std::string(100000, '[') + std::string(100000, ']') + "\n");
  expect_invalid(banger_capped({"validate", "-f", path}), "100000 [ ]");
}

TEST(Deep, NestedFlowMappings) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "{a: ";
  std::string path = dir.write("deep.yaml", text + "b" + std::string(100000, '}') + "\n");
  expect_invalid(banger_capped({"validate", "-f", path}), "nested flow mappings");
}

TEST(Deep, NestedBlockMappings) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 3000; ++i) text += std::string(static_cast<size_t>(i), ' ') + "a:\n";
  std::string path = dir.write("deep.yaml", text);
  expect_invalid(banger_capped({"validate", "-f", path}), "nested block mappings");
}

TEST(Deep, NestedBlockSequences) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "- ";
  std::string path = dir.write("deep.yaml", text + "x\n");
  expect_invalid(banger_capped({"validate", "-f", path}), "nested block sequences");
}

TEST(Deep, NestingInsideAManifest) {
  TempDir dir;
  std::string text = "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: a}\nspec:\n  kernel: " +
                     std::string(50000, '[') + std::string(50000, ']') + "\n";
  expect_invalid(banger_capped({"validate", "-f", dir.write("deep.yaml", text)}), "nesting in a manifest");
}

// yaml-cpp's own text for its depth limit is "bad file"; a user needs to
// hear what is wrong with the file instead.
TEST(Deep, MessageSaysTheNestingIsTooDeep) {
  TempDir dir;
  std::string path = dir.write("deep.yaml", std::string(100000, '['));
  CommandResult r = banger_capped({"validate", "-f", path});
  std::string err = r.err;
  for (size_t at; (at = err.find(path)) != std::string::npos;) err.erase(at, path.size());  // it says "deep"
  std::transform(err.begin(), err.end(), err.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_TRUE(err.find("nest") != std::string::npos || err.find("deep") != std::string::npos ||
              err.find("depth") != std::string::npos)
      << "the message does not say what is wrong:\n" << describe(r);
}

// --------------------------------------------------------- aliases (bombs)

const char* kBillionLaughs = R"(a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
)";

TEST(Aliases, BillionLaughsFinishesQuicklyWithAVerdictAboutTheFile) {
  TempDir dir;
  std::string path = dir.write("lol.yaml", kBillionLaughs);
  auto t0 = Clock::now();
  CommandResult r = banger_capped({"validate", "-f", path});
  EXPECT_LT(seconds_since(t0), 10.0);
  expect_invalid(r, "billion laughs");
  EXPECT_NE(r.err.find("lol.yaml"), std::string::npos)
      << "the verdict does not say which file is wrong\n" << describe(r);
}

TEST(Aliases, BombInsideAManifest) {
  TempDir dir;
  std::string text = std::string("apiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: a\n  labels:\n") +
                     "    x: &a [l,l,l,l,l,l,l,l,l,l]\n";
  // As labels, spec fields and keys: each must be refused without expanding.
  text += "spec:\n  kernel: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  image: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
          "  kernelArgs: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n  readiness: &e {tcp: [*d,*d,*d,*d,*d,*d]}\n"
          "  network: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n  ? *f\n  : x\n";
  std::string path = dir.write("bomb.yaml", text);
  auto t0 = Clock::now();
  CommandResult r = banger_capped({"validate", "-f", path});
  EXPECT_LT(seconds_since(t0), 10.0);
  expect_invalid(r, "alias bomb in a manifest");
  EXPECT_NE(r.err.find("bomb.yaml:"), std::string::npos) << describe(r);
  CommandResult j = banger_capped({"validate", "-f", path, "-o", "json"});
  EXPECT_EQ(j.exit_code, 1) << describe(j);
  EXPECT_EQ(j.out.rfind("[", 0), 0u) << describe(j);
}

TEST(Aliases, SelfReferenceAndUndefinedAlias) {
  TempDir dir;
  for (const char* text : {"a: &x [*x]\n", "a: *nothing\n", "&x a: *x\n", "- &x\n  - *x\n",
                           "apiVersion: banger.dev/v1\nkind: VM\nmetadata: &m {name: a, labels: *m}\n"
                           "spec: &s {kernel: *s, image: [*s]}\n"}) {
    CommandResult r = banger_capped({"validate", "-f", dir.write("alias.yaml", text)});
    expect_invalid(r, text);
  }
}

// -------------------------------------------------------------------- junk

std::string junk(std::mt19937& rng, size_t size, int style) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    switch (style) {
      case 0: out += static_cast<char>(rng() & 0xff); break;                   // any byte
      case 1: out += static_cast<char>(0x20 + rng() % 0x5f); break;            // printable
      case 2: out += kTokens[rng() % kTokens.size()]; i += 4; break;           // YAML soup
      default: out += static_cast<char>(rng() % 8 == 0 ? 0 : 0x80 + rng() % 0x80); break;
    }
  }
  return out;
}

TEST(Junk, SeededBinaryFilesAreInvalid) {
  TempDir dir;
  std::mt19937 rng(20240601);
  for (int i = 0; i < 24; ++i) {
    size_t size = 1 + rng() % (i % 3 == 0 ? 200000 : 2000);
    std::string text = junk(rng, size, i % 4);
    std::string path = dir.write("junk" + std::to_string(i) + ".yaml", text);
    CommandResult r = banger_capped({"validate", "-f", path});
    expect_invalid(r, "junk #" + std::to_string(i) + ": " + escaped(text, 200));
  }
}

TEST(Junk, ProgramBytesAreInvalid) {
  const char* prog = "/bin/true";
  ASSERT_TRUE(fs::exists(prog));
  expect_invalid(banger_capped({"validate", "-f", prog}), "/bin/true as a file");
  expect_invalid(banger_capped({"validate", "-f", "-"}, read_all(prog)), "/bin/true on stdin");
}

TEST(Junk, StdinJunk) {
  std::mt19937 rng(99);
  for (int style = 0; style < 4; ++style) {
    std::string text = junk(rng, 5000, style);
    CommandResult r = banger_capped({"validate", "-f", "-"}, text);
    expect_invalid(r, "stdin junk style " + std::to_string(style));
    EXPECT_NE(r.err.find("<stdin>"), std::string::npos) << describe(r);
  }
}

// yaml-cpp 0.7 loops forever, allocating ~180 MB/s, on a ',' where a
// top-level node is expected (jbeder/yaml-cpp#1040, fixed upstream by #1319).
// Comma-separated JSON objects pasted into a file are enough to hit it.
TEST(Junk, StrayTopLevelCommaEndsQuickly) {
  TempDir dir;
  for (const char* text : {",", "{\"apiVersion\": \"banger.dev/v1\"},\n{\"kind\": \"VM\"}\n",
                           "apiVersion: banger.dev/v1\n---\n,\n"}) {
    std::string path = dir.write("comma.yaml", text);
    auto t0 = Clock::now();
    CommandResult r = banger_capped({"validate", "-f", path}, "", 6);
    double took = seconds_since(t0);
    expect_invalid(r, escaped(text));
    EXPECT_LT(took, 5.0) << escaped(text) << ": no verdict for " << took << " s";
    EXPECT_EQ(r.err.find("bad_alloc"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("comma.yaml:"), std::string::npos) << describe(r);
  }
}

TEST(Junk, NulByteInAManifest) {
  TempDir dir;
  std::string text = "apiVersion: banger.dev/v1\nkind: VM\0\nmetadata: {name: a}\n"s +
                     "spec: {kernel: k, image: i}\n";
  CommandResult r = banger_capped({"validate", "-f", dir.write("nul.yaml", text)});
  expect_invalid(r, "a NUL byte");
  EXPECT_NE(r.err.find("nul.yaml"), std::string::npos) << describe(r);
  std::string quoted = "apiVersion: banger.dev/v1\nkind: \"VM\0\"\nmetadata: {name: a}\n"s;
  CommandResult q = banger_capped({"validate", "-f", dir.write("nul2.yaml", quoted)});
  expect_invalid(q, "a NUL byte in a quoted scalar");
}

// Each diagnostic is one line that starts with the file, and what the input
// holds is shown escaped: never a raw NUL, escape sequence or line break from
// the file, which would corrupt a terminal or a log parser.
TEST(Junk, DiagnosticsAreSingleEscapedLines) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"nul.yaml", "apiVersion: banger.dev/v1\nkind: VM\0\nmetadata: {name: a}\n"s},
      {"true.yaml", read_all("/bin/true").substr(0, 4096)},
      {"esc.yaml", "apiVersion: banger.dev/v1\nkind: \"\\e[31mVM\"\nmetadata: {name: a}\nspec: {}\n"},
      {"escname.yaml", "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: \"\\e[31mred\"}\nspec: {}\n"},
      {"crlf.yaml", "apiVersion: banger.dev/v1\r\nkind: VM\r\nmetadata: {name: \"a\\nb\"}\r\nspec: {}\r\n"}};
  std::mt19937 rng(5);
  for (int i = 0; i < 8; ++i) inputs.push_back({"junk" + std::to_string(i) + ".yaml", junk(rng, 3000, i % 4)});
  for (const auto& [name, text] : inputs) {
    std::string path = dir.write(name, text);
    CommandResult r = banger_capped({"validate", "-f", path});
    expect_invalid(r, name);
    for (unsigned char c : r.err) {
      if (c == '\n') continue;
      EXPECT_FALSE(c < 0x20 || c == 0x7f) << name << ": raw control byte " << int(c)
                                          << " in stderr:\n" << escaped(r.err);
      if (c < 0x20 || c == 0x7f) break;
    }
    for (const std::string& line : split_lines(r.err)) {
      EXPECT_EQ(line.rfind(path, 0), 0u) << name << ": a line of stderr is not a diagnostic:\n"
                                         << escaped(line) << "\nall of stderr:\n" << escaped(r.err);
    }
  }
}

// -------------------------------------------------------------- file system

TEST(Files, MissingEmptyAndNull) {
  TempDir dir;
  CommandResult missing = banger_capped({"validate", "-f", dir.path() + "/nope.yaml"});
  expect_invalid(missing, "missing file");
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << describe(missing);
  expect_invalid(banger_capped({"validate", "-f", dir.write("empty.yaml", "")}), "empty file");
  expect_invalid(banger_capped({"validate", "-f", "/dev/null"}), "/dev/null");
  fs::create_directories(dir.path() + "/none");
  expect_invalid(banger_capped({"validate", "-f", dir.path() + "/none"}), "empty folder");
}

TEST(Files, FolderWithSymlinkLoopsFinishes) {
  TempDir dir;
  dir.write("m/net.yaml",
            "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.9.0.0/24}\n");
  fs::create_directory_symlink("..", dir.path() + "/m/up");
  fs::create_directories(dir.path() + "/m/sub");
  fs::create_directory_symlink("../../m", dir.path() + "/m/sub/again");
  fs::create_directory_symlink(dir.path() + "/m", dir.path() + "/m/self");
  auto t0 = Clock::now();
  CommandResult r = banger_capped({"validate", "-f", dir.path() + "/m"});
  EXPECT_LT(seconds_since(t0), 10.0);
  expect_verdict(r, "folder with directory symlink loops");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("1 Network"), std::string::npos) << "read more than once?\n" << describe(r);
}

// A *.yaml entry that cannot be read (a symlink to itself) is a manifest the
// user meant to apply: it must be reported, not silently left out.
TEST(Files, UnreadableManifestInAFolderIsReported) {
  TempDir dir;
  dir.write("m/net.yaml",
            "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.9.0.0/24}\n");
  fs::create_symlink("loop.yaml", dir.path() + "/m/loop.yaml");
  CommandResult r = banger_capped({"validate", "-f", dir.path() + "/m"});
  expect_verdict(r, "folder with loop.yaml -> loop.yaml");
  EXPECT_EQ(r.exit_code, 1) << "loop.yaml was silently skipped\n" << describe(r);
  EXPECT_NE(r.err.find("loop.yaml"), std::string::npos) << describe(r);
  // Named directly, it is reported (and not as a missing file: it exists).
  CommandResult direct = banger_capped({"validate", "-f", dir.path() + "/m/loop.yaml"});
  expect_invalid(direct, "loop.yaml named directly");
  EXPECT_EQ(direct.err.find("no such file"), std::string::npos)
      << "a symlink loop is not a missing file\n" << describe(direct);
}

bool can_drop_privileges() { return geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0; }

// Runs banger as nobody when the tests run as root (root reads any file).
CommandResult run_banger_unprivileged(const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (geteuid() == 0) {
    argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BANGER_BIN};
  } else {
    argv = {BANGER_BIN};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, "", 30);
}

TEST(Files, UnreadableFile) {
  if (geteuid() == 0 && !can_drop_privileges()) GTEST_SKIP() << "root without setpriv: every file is readable";
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  std::string path = dir.write("secret.yaml", "apiVersion: banger.dev/v1\n");
  chmod(path.c_str(), 0);
  CommandResult r = run_banger_unprivileged({"validate", "-f", path});
  if (r.exit_code == 127) GTEST_SKIP() << "the banger binary is not executable by nobody";
  expect_invalid(r, "unreadable file");
  EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("ermission denied"), std::string::npos) << describe(r);
}

// A folder that cannot be listed may hold manifests: leaving it out silently
// would validate (and later apply) less than the user asked for.
TEST(Files, UnreadableSubfolderIsReported) {
  if (geteuid() == 0 && !can_drop_privileges()) GTEST_SKIP() << "root without setpriv";
  TempDir dir;
  auto open = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
              fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir.path(), open);
  dir.write("m/net.yaml",
            "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.9.0.0/24}\n");
  dir.write("m/private/vm.yaml", "this: [is not valid\n");
  fs::permissions(dir.path() + "/m", open);
  fs::permissions(dir.path() + "/m/net.yaml", open);
  chmod((dir.path() + "/m/private").c_str(), 0);
  CommandResult r = run_banger_unprivileged({"validate", "-f", dir.path() + "/m"});
  chmod((dir.path() + "/m/private").c_str(), 0700);  // so that TempDir can remove it
  if (r.exit_code == 127) GTEST_SKIP() << "the banger binary is not executable by nobody";
  expect_verdict(r, "unreadable subfolder");
  EXPECT_EQ(r.exit_code, 1) << "m/private was silently skipped\n" << describe(r);
  EXPECT_NE(r.err.find("private"), std::string::npos) << describe(r);
}

// A read error is not the end of the file: reporting "no documents" for a
// file that failed to read hides the real problem.
TEST(Files, ReadErrorsAreReportedAsSuch) {
  if (access("/proc/self/mem", F_OK) != 0) GTEST_SKIP() << "no /proc";
  // Reading /proc/self/mem from offset 0 fails with EIO (nothing is mapped there).
  CommandResult r = banger_capped({"validate", "-f", "/proc/self/mem"});
  expect_invalid(r, "/proc/self/mem");
  EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << describe(r);
}

// A FIFO with no writer: a path given with -f must not make validate (or
// watch, or CI) block forever in open().
TEST(Files, FifoWithoutWriterDoesNotHang) {
  TempDir dir;
  std::string fifo = dir.path() + "/pipe.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int kBound = 20;
  auto t0 = Clock::now();
  CommandResult r = run_command({BANGER_BIN, "validate", "-f", fifo}, "", kBound);
  double took = seconds_since(t0);
  EXPECT_EQ(r.signal, 0) << "banger validate -f FIFO still blocked after " << took
                         << " s and was killed\n" << describe(r);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

// ... while a FIFO that is written (as with `-f <(generate-manifests)`) is read.
TEST(Files, FifoWithAWriterIsRead) {
  TempDir dir;
  std::string fifo = dir.path() + "/pipe.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string text =
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: piped}\nspec: {subnet: 10.7.0.0/24}\n";
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!stop && Clock::now() < deadline) {
      int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {  // ENXIO: no reader yet
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      fcntl(fd, F_SETFL, 0);
      ssize_t n = write(fd, text.data(), text.size());
      (void)n;
      close(fd);
      return;
    }
  });
  CommandResult r = run_command({BANGER_BIN, "validate", "-f", fifo}, "", 20);
  stop = true;
  writer.join();
  expect_verdict(r, "FIFO with a writer");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("1 Network"), std::string::npos) << describe(r);
}

// `-f <(generator)` hands banger a pipe whose writer already exists but may
// take a while to print (a template tool, a download): like cat or kubectl,
// banger must wait for it, since the writer is there. Only a FIFO that
// nobody has opened for writing is worth giving up on.
TEST(Files, SlowProcessSubstitutionIsRead) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // banger inherits the read end (as with <(...)), never the write end.
  ASSERT_EQ(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
  const std::string text =
      "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: slow}\nspec: {subnet: 10.8.0.0/24}\n";
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::seconds(7));
    ssize_t n = write(fds[1], text.data(), text.size());
    (void)n;
    close(fds[1]);
  });
  CommandResult r = run_command({BANGER_BIN, "validate", "-f", "/dev/fd/" + std::to_string(fds[0])}, "", 30);
  writer.join();
  close(fds[0]);
  expect_verdict(r, "a pipe whose writer prints after 7 s");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("1 Network"), std::string::npos) << describe(r);
}

TEST(Files, FifoInAFolderIsNotWaitedFor) {
  TempDir dir;
  dir.write("m/net.yaml",
            "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.9.0.0/24}\n");
  ASSERT_EQ(mkfifo((dir.path() + "/m/pipe.yaml").c_str(), 0600), 0);
  // Walking a folder finds files; it does not wait on a FIFO that happens to
  // be there (a watcher would pay that wait on every pass).
  auto t0 = Clock::now();
  CommandResult r = run_command({BANGER_BIN, "validate", "-f", dir.path() + "/m"}, "", 20);
  double took = seconds_since(t0);
  expect_verdict(r, "folder with a FIFO");
  EXPECT_LT(took, 3.0) << "the folder walk waited on pipe.yaml\n" << describe(r);
}

}  // namespace

// A *.yaml symlink that leads out of the folder named with -f is refused,
// and nothing of its target is echoed: under watch of a repository anyone
// can push to, a link to a root-only file would land in the logs.
TEST(Files, SymlinksOutOfTheManifestFolderAreRefusedWithoutEchoingTheTarget) {
  TempDir dir;
  dir.write("secret", "root:*:20228:0:99999:7:::\n");
  dir.write("m/net.yaml",
            "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.9.0.0/24}\n");
  fs::create_directories(dir.path() + "/m/sub");
  fs::create_symlink(dir.path() + "/secret", dir.path() + "/m/shadow.yaml");
  fs::create_symlink("../net.yaml", dir.path() + "/m/sub/inside.yaml");  // inside: fine
  CommandResult r = banger_capped({"validate", "-f", dir.path() + "/m"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("shadow.yaml: is a symlink that leads out of"), std::string::npos) << describe(r);
  EXPECT_EQ(r.err.find("root:"), std::string::npos) << "the target's content was echoed\n" << describe(r);
  EXPECT_EQ(r.err.find("inside.yaml"), std::string::npos) << describe(r);
}

// Kernel and initrd paths are checked as Image paths are: a folder, a FIFO
// or a device is not a kernel, and a dangling symlink is named as one.
TEST(Files, KernelAndInitrdPathsMustBeRegularFiles) {
  TempDir dir;
  fs::create_directories(dir.path() + "/kdir");
  ASSERT_EQ(mkfifo((dir.path() + "/initrd.fifo").c_str(), 0600), 0);
  fs::create_symlink(dir.path() + "/gone", dir.path() + "/dangling");
  auto kernel = [&](const std::string& name, const std::string& spec) {
    return "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: " + name + "}\nspec: " + spec + "\n";
  };
  dir.write("m/k.yaml", kernel("folder", "{path: " + dir.path() + "/kdir}") + "---\n" +
                            kernel("zero", "{path: /dev/zero}") + "---\n" +
                            kernel("fifo", "{path: /dev/null, initrd: {path: " + dir.path() + "/initrd.fifo}}") +
                            "---\n" + kernel("dangling", "{path: " + dir.path() + "/dangling}"));
  CommandResult r = banger_capped({"validate", "-f", dir.path() + "/m"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  for (const char* want : {"Kernel/folder: spec.path: ", "Kernel/zero: spec.path: \"/dev/zero\" is not a regular file",
                           "Kernel/fifo: spec.initrd.path: ", "Kernel/dangling: spec.path: "}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << want << "\n" << describe(r);
  }
  EXPECT_NE(r.err.find("is a symlink to a file that does not exist (expected a kernel image file)"),
            std::string::npos)
      << describe(r);
}
