// HostReconciler::sweep_owned: the undo half of recovering from an
// interrupted run (reconciler/interrupted.h says which half is which).
#include <filesystem>

#include "drivers/bridge.h"
#include "drivers/dnsmasq.h"
#include "drivers/netlink.h"
#include "drivers/tap.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/source_path.h"

namespace banger {

namespace fs = std::filesystem;

namespace {

// A record names the path banger made; a path outside the folders banger
// makes them in is not removed on a record's word (a damaged or edited
// database must not become `rm -rf` of anything).
void remove_path_within(const std::string& path, const std::vector<std::string>& roots) {
  bool inside = false;
  for (const std::string& root : roots) inside = inside || (path != root && path_within(path, root));
  if (!inside) {
    throw HostError("refusing to remove " + path + ": the record names a path outside the state dir " +
                        roots.front() + " and the run dir " + roots.back(),
                    ErrorCode::Io);
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw HostError("removing " + path + ": " + ec.message(), ErrorCode::Io);
}

}  // namespace

ActionOutcome HostReconciler::sweep_owned(const OwnedOrphans& orphans) {
  ActionOutcome out;
  // First the hypervisors a gone VM left (a start whose record was never
  // written): they hold its tap and write into its run dir.
  for (const std::string& vm : orphans.vms) {
    int n = reap_unrecorded(vm);
    if (n > 0) out.add({"vm.reap", "VM/" + vm, "killed", {{"count", std::to_string(n)}}});
  }
  const std::vector<std::string> roots{normalize_source_path(opts_.state_dir), normalize_source_path(opts_.run_dir)};
  for (const OwnedObject& obj : orphans.objects) {
    const std::string step = "owned.delete";
    if (obj.type == "bridge" || obj.type == "tap") {
      std::lock_guard lock(net_mu_);
      Netlink nl;
      journaled("delete", obj.type, obj.id, obj.owner, [&] {
        if (obj.type == "bridge") BridgeDriver(nl).remove(obj.id);
        else TapDriver(nl).remove(obj.id);
      });
    } else if (obj.type == "dns-server") {
      // Its process first (DnsmasqDriver::remove), then the folder; only
      // within the run dir.
      journaled("delete", obj.type, obj.id, obj.owner, [&] {
        if (obj.id != roots.back() && path_within(obj.id, roots.back())) DnsmasqDriver(obj.id).remove();
      });
    } else if (obj.type == "rundir" || obj.type == "disk" || obj.type == "cow") {
      journaled("delete", obj.type, obj.id, obj.owner, [&] { remove_path_within(obj.id, roots); });
    }
    // "dm": the disk sweep removes banger's dm devices that no disk record
    // explains, with the loops under them, in that order; only the record
    // goes here.
    locked([&] {
      store_.forget_owned(obj.type, obj.id);
    });
    out.add({step, obj.id, "removed", {{"type", obj.type}, {"owner", obj.owner}}});
  }
  locked([&] {
    for (const JournalEntry& e : orphans.entries) store_.journal_end(e.id);
  });
  if (!orphans.entries.empty()) {
    out.add({"journal.close", "", "closed", {{"entries", std::to_string(orphans.entries.size())}}});
  }
  return out;
}

}  // namespace banger
