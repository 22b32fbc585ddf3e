#include "cli/gc_cmd.h"

#include <iostream>
#include <memory>

#include "cli/host_flags.h"
#include "drivers/download_progress.h"
#include "reconciler/artifact_gc.h"
#include "state/host_lock.h"
#include "state/store.h"

namespace banger::cli {

namespace {

struct GcOptions {
  bool dry_run = false;
  bool no_wait = false;
};

std::string relative_to(const std::string& path, const std::string& dir) {
  return path.rfind(dir + "/", 0) == 0 ? path.substr(dir.size() + 1) : path;
}

int run_gc(const GcOptions& o, const GlobalOptions& g) {
  if (!require_root("gc", g)) return kExitError;
  // The store first (it creates the state dir the lock lives in), then the
  // lock, and nothing read before it is held: no apply is mid-download.
  Store store(g.state_dir);
  HostLock lock(g.state_dir, HostLockOptions{!o.no_wait, {}, "banger gc", say_waiting_for_lock});
  std::vector<GcItem> items = collect_garbage(store, g.state_dir);
  uint64_t bytes = 0;
  for (const GcItem& i : items) {
    if (!o.dry_run) remove_garbage(store, {i});
    bytes += i.size;
    if (g.quiet) continue;
    std::cout << (o.dry_run ? "would remove " : "removed ") << relative_to(i.path, g.state_dir) << " ("
              << i.kind << ", " << human_bytes(static_cast<double>(i.size))
              << (i.url.empty() ? "" : (i.kind == "loop device" ? ", on " : ", from ") + i.url) << ")\n";
  }
  if (!g.quiet) {
    std::string files = std::to_string(items.size()) + (items.size() == 1 ? " item" : " items");
    std::cout << (o.dry_run ? "gc --dry-run: " + files + ", " + human_bytes(static_cast<double>(bytes)) +
                                  " would be freed\n"
                            : "gc: " + files + " removed, " + human_bytes(static_cast<double>(bytes)) + " freed\n");
  }
  return kExitOk;
}

}  // namespace

void add_gc_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<GcOptions>();
  CLI::App* cmd = app.add_subcommand("gc", "Remove downloads, loop devices and files that no resource uses");
  cmd->footer(
      "Removes files under STATE_DIR/artifacts (verified downloads and partial ones) that no applied\n"
      "Kernel or Image names, and disk leftovers no record explains: device-mapper devices banger-*,\n"
      "loop devices banger attached (an image's base loop once no VM uses it) and VM folders.\n"
      "Takes the host lock, so it never races an apply.\n\n"
      "Examples:\n  sudo banger gc --dry-run\n  sudo banger gc");
  cmd->add_flag("--dry-run", o->dry_run, "Print what would be removed and remove nothing");
  cmd->add_flag("--no-wait", o->no_wait, "Fail at once when another apply/delete holds the host lock");
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_gc(*o, g); }; });
}

}  // namespace banger::cli
