#include "cli/images_cmd.h"

#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/host_flags.h"
#include "cli/render.h"
#include "drivers/download_progress.h"
#include "drivers/oci_pull.h"
#include "reconciler/applied_spec.h"
#include "state/store.h"

namespace banger::cli {

namespace {

struct ImagesOptions {
  std::string output;
};

// Each applied Kernel and Image from a registry, by the digest it applied.
std::map<std::string, std::vector<std::string>> users_by_digest(Store& store) {
  std::map<std::string, std::vector<std::string>> out;
  for (const ResourceRecord& r : store.resources()) {
    if (r.kind != "Kernel" && r.kind != "Image") continue;
    std::string digest;
    for (const SpecField& f : applied_fields(r)) {
      if (f.name == "digest") digest = f.value;
    }
    if (!digest.empty()) out[digest].push_back(r.kind + "/" + r.name);
  }
  return out;
}

int run_images(const ImagesOptions& o, const GlobalOptions& g) {
  if (!require_root("images", g)) return kExitError;
  Store store(g.state_dir);
  auto users = users_by_digest(store);
  std::vector<Row> rows;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const OciCached& c : list_oci_cache(g.state_dir)) {
    const std::vector<std::string>& used = users[c.manifest_digest];
    std::string who;
    for (const std::string& u : used) who += (who.empty() ? "" : ",") + u;
    rows.push_back({{"REF", c.ref.empty() ? "?" : c.ref},
                    {"DIGEST", o.output == "wide" ? c.manifest_digest : c.manifest_digest.substr(0, 19)},
                    {"PLATFORM", c.platform.empty() ? "?" : c.platform},
                    {"SIZE", human_bytes(static_cast<double>(c.bytes))},
                    {"USED BY", who.empty() ? "-" : who}});
    items.push_back({{"ref", c.ref},
                     {"digest", c.manifest_digest},
                     {"platform", c.platform},
                     {"bytes", c.bytes},
                     {"layers", c.layers},
                     {"files", c.files},
                     {"usedBy", used}});
  }
  if (o.output == "json") {
    std::cout << items.dump(2) << "\n";
  } else if (rows.empty()) {
    if (!g.quiet) std::cerr << "No images pulled from registries in " << g.state_dir << ".\n";
  } else {
    print_table(rows);
  }
  return kExitOk;
}

}  // namespace

void add_images_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<ImagesOptions>();
  CLI::App* cmd = app.add_subcommand("images", "List the images pulled from OCI registries, and who uses them");
  cmd->footer(
      "Each pulled manifest under STATE_DIR/images/oci: the reference it was pulled as, its digest,\n"
      "platform, size on disk (the ext4 image or a kernel's files) and the applied Kernels and Images\n"
      "whose tag resolved to it. 'banger gc' removes the ones nothing uses. Read-only.\n\n"
      "Examples:\n  sudo banger images\n  sudo banger images -o wide\n  sudo banger images -o json");
  add_output_option(cmd, o->output, {"wide", "json"});
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_images(*o, g); }; });
}

}  // namespace banger::cli
