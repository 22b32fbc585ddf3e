#include "cli/state_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/host_flags.h"
#include "cli/node_flags.h"
#include "cli/render.h"
#include "cli/version.h"
#include "common/unique_fd.h"
#include "common/write_file.h"
#include "reconciler/diff.h"
#include "reconciler/oci_resolve.h"
#include "reconciler/session.h"

namespace banger::cli {

namespace {

struct ExportOptions {
  std::string output = "json";
  std::string file;  // "" or "-": standard output
  HostFlags host;
};

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run_export(const ExportOptions& o, const GlobalOptions& g) {
  const NodeIdentity node = node_identity(g);  // a bad --node-name is an error before the host is read
  // Read-only, like diff: no host lock, so an export never waits for (or
  // holds up) an apply or the watcher.
  Session s(session_options(g, o.host, /*lock=*/false));
  SnapshotInfo info{hostname(), utc_now(), kVersion, g.state_dir, node, read_git_status(s.state_dir())};
  std::string text = snapshot_to_json(s.observe(), info);
  note_unlisted_nat(s.observe(), g, "listing them needs root; the export marks them unobserved");
  if (o.file.empty() || o.file == "-") {
    std::cout << text << std::flush;
    return kExitOk;
  }
  // A reader (a cron job's git commit, a CI upload) never sees half a file,
  // and a failed export keeps the old one.
  write_file_atomically(o.file, text);
  if (!g.quiet) {
    const ObservedState& obs = s.observe();
    std::cerr << "exported " << obs.applied.size() << " resources and " << obs.vms.size() << " VMs to "
              << o.file << "\n";
  }
  return kExitOk;
}

}  // namespace

// A state export of 1000 VMs is about 2 MiB; this leaves room and no more.
constexpr uint64_t kMaxExportBytes = 64ull << 20;

StateSnapshot read_state_export(const std::string& path) {
  // A regular file of bounded size: CI hands banger whatever file it has,
  // and a FIFO, /dev/zero or a folder must be an error, not a hang or a
  // growing buffer. O_NONBLOCK: opening a FIFO without a writer returns.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) throw SnapshotError(path + ": cannot read: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw SnapshotError(path + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw SnapshotError(path + ": is a folder, not a state export file");
  if (!S_ISREG(st.st_mode)) {
    throw SnapshotError(path + ": is not a regular file (expected a file written by banger state export)");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxExportBytes) {
    throw SnapshotError(path + ": is larger than " + std::to_string(kMaxExportBytes >> 20) +
                        " MiB (expected a file written by banger state export)");
  }
  std::string text;
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SnapshotError(path + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxExportBytes) {
      throw SnapshotError(path + ": is larger than " + std::to_string(kMaxExportBytes >> 20) + " MiB");
    }
  }
  return snapshot_from_json(text, path);
}

Plan plan_against_export(DesiredState desired, const StateSnapshot& snapshot, const DiffOptions& opts) {
  // Tags as the export recorded them: the same plan wherever it runs, with
  // no registry asked.
  desired = with_oci_digests(std::move(desired), snapshot.observed.applied, /*online=*/false, nullptr);
  // Keep in step with Session::plan_apply, which does the same over the live host.
  return make_plan(compute_diff(desired, snapshot.observed, opts), desired);
}

void add_state_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  CLI::App* state = app.add_subcommand("state", "Work with what banger recorded on this host");
  state->require_subcommand(1);
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = state->add_subcommand(
      "export", "Write what banger applied on this host, and what it observes there, as JSON");
  cmd->footer(
      "Examples:\n"
      "  sudo banger state export > host-state.json\n"
      "  sudo banger state export --file /srv/banger/host-state.json\n\n"
      "The file is what 'banger diff -f DIR --against FILE' reads to show, anywhere and\n"
      "without root, the plan this host would get. Read-only: takes no lock, changes nothing.\n"
      "Exit status: 0 written, 1 error.");
  add_output_option(cmd, o->output, {"json"});
  cmd->add_option("--file", o->file, "Write to FILE (atomically: temp file + rename) instead of standard output")
      ->type_name("FILE");
  add_host_flags(cmd, o->host, false);
  cmd->allow_extras();
  cmd->fallthrough();
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_export(*o, g); }; });
}

}  // namespace banger::cli
