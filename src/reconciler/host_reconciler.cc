#include "reconciler/host_reconciler.h"

#include "common/fault.h"
#include "common/profile.h"

#include "reconciler/applied_spec.h"

#include "drivers/vm_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>

#include "common/host_error.h"
#include "drivers/bridge.h"
#include "drivers/dnsmasq.h"
#include "drivers/firecracker.h"
#include "drivers/kvm.h"
#include "drivers/qemu.h"
#include "drivers/netlink.h"
#include "drivers/process.h"
#include "drivers/resolved.h"
#include "drivers/sysctl.h"
#include "drivers/tap.h"
#include "reconciler/dns_target.h"
#include "reconciler/nat_target.h"
#include "reconciler/recorded_vm.h"
#include "reconciler/source_path.h"

namespace fs = std::filesystem;

namespace banger {

HostReconciler::HostReconciler(Store& store, HostOptions opts)
    : store_(store),
      opts_(std::move(opts)),
      tap_deletes_([this](const std::vector<std::string>& taps) {
        std::lock_guard lock(net_mu_);
        Netlink nl;
        return TapDriver(nl).remove_many(taps);
      }),
      // In the run dir: the generation it is keyed on does not survive a
      // reboot either.
      nat_(opts_.run_dir + "/nat.cache"),
      artifacts_(opts_.state_dir, opts_.download),
      disks_(store_, opts_.state_dir) {}
HostReconciler::~HostReconciler() = default;

std::string HostReconciler::disk_path(const std::string& vm) const { return disks_.disk_file(vm); }

DiskHost HostReconciler::disk_host() {
  std::lock_guard lock(disk_host_mu_);
  if (!seen_disks_) seen_disks_ = disks_.observe();
  return *seen_disks_;
}

std::string HostReconciler::vm_run_dir(const std::string& vm) const {
  return opts_.run_dir + "/vms/" + vm;
}

HypervisorHost observe_hypervisors(const HostOptions& opts) {
  HypervisorHost h;
  h.known = true;
  h.kvm = probe_kvm();
  h.accel = opts.accel;
  h.accel_from = opts.accel_from;
  const char* env = std::getenv("BANGER_FIRECRACKER_BIN");
  h.firecracker_named_by = !opts.firecracker_bin.empty() ? "--firecracker"
                           : env && *env                 ? "BANGER_FIRECRACKER_BIN"
                                                         : "";
  try {
    h.firecracker = find_firecracker(opts.firecracker_bin);
  } catch (const HostError& e) {
    h.firecracker_why = e.what();
  }
  try {
    h.qemu = find_qemu();
  } catch (const HostError& e) {
    h.qemu_why = e.what();
  }
  return h;
}

HypervisorHost HostReconciler::hypervisor_host() {
  std::lock_guard lock(disk_host_mu_);
  if (!seen_hypervisors_) seen_hypervisors_ = observe_hypervisors(opts_);
  return *seen_hypervisors_;
}

ObservedState HostReconciler::records() {
  ObservedState o;
  locked([&] {
    for (auto& r : store_.resources()) o.applied.emplace(ResourceKey{*parse_kind(r.kind), r.name}, r);
    for (auto& v : store_.vms()) o.vms.emplace(v.name, v);
    for (auto& r : store_.runtimes()) o.runtimes.emplace(r.name, r);
    for (auto& r : store_.restart_records()) o.restarts.emplace(r.name, r);
    for (auto& d : store_.disk_records()) o.disks.emplace(d.vm, d);
    o.owned = store_.owned();
    o.journal = store_.pending_journal();
  });
  return o;
}

ObservedState HostReconciler::observe(bool with_nat) {
  profile::Scope whole("observe");
  // Without root (a member of the group banger running get, diff or state
  // export): only what any user may read. nftables and /dev/kvm are root's,
  // dm devices come from sysfs, and a process is known by pid and start
  // time (is_running).
  const bool privileged = ::geteuid() == 0;
  ObservedState o;
  {
    profile::Scope p("observe.records");
    o = records();
  }
  profile::Scope host_phase("observe.host");
  for (const auto& [name, rt] : o.runtimes) {
    if (is_running(recorded_process(rt))) {
      o.running.insert(name);
    } else if (auto ex = read_exit_status(exit_status_file(vm_run_dir(name)))) {
      o.exits.emplace(name, *ex);
    }
  }
  o.now_ms = now_ms();
  {
    profile::Scope p("observe.disks");
    o.disk_host = disks_.observe(privileged);
  }
  {
    profile::Scope p("observe.hypervisors");
    o.hypervisors = observe_hypervisors(opts_);
    // What runtime `auto` picks is root's call (it opens /dev/kvm): a
    // reader's plan leaves it out rather than guess.
    if (!privileged) o.hypervisors.known = false;
  }
  {
    std::lock_guard lock(disk_host_mu_);
    seen_disks_ = o.disk_host;
    seen_hypervisors_ = o.hypervisors;
  }
  std::set<std::string> dm_present;  // "name uuid" of banger's dm devices
  for (const ObservedDm& dm : o.disk_host.dm) dm_present.insert(dm.name + " " + dm.uuid);
  for (const auto& [name, rec] : o.vms) {
    auto disk = o.disks.find(name);
    if (disk != o.disks.end() && disk->second.method == "snapshot") {
      // Present when its dm device is (the COW file alone is not a disk).
      if (dm_present.count(dm_name(name) + " " + dm_uuid(o.disk_host.tag, name))) o.disks_present.insert(name);
      continue;
    }
    struct stat st;
    // EACCES: a reader without root and a disk folder made before the
    // group banger existed (0700): taken as recorded rather than missing.
    if (::stat(rec.disk_path.c_str(), &st) == 0 || errno == EACCES) o.disks_present.insert(name);
  }
  {
    profile::Scope p("observe.links");
    std::lock_guard lock(net_mu_);
    Netlink nl;
    o.links = nl.dump();
    seen_links_ = o.links;
  }
  if (with_nat && privileged) {
    profile::Scope p_nat("observe.nat");
    o.nat = nat_.observe();
  } else if (with_nat) {
    o.nat_known = false;
  }
  o.ip_forward = ipv4_forwarding_enabled();
  o.dns_root = dns_root();
  o.dns_user = dnsmasq_user_for(o.dns_root);
  o.dns = observe_dns(o.dns_root);
  if (!o.dns->empty()) o.resolved = observe_resolved(applied_networks(o.applied), o.links);
  return o;
}

std::optional<std::map<std::string, std::optional<ResolvedLink>>> observe_resolved(
    const std::map<std::string, Network>& networks, const LinkSnapshot& links) {
  if (!ResolvedDriver::running()) return std::nullopt;
  std::map<std::string, int> bridges;
  for (const auto& [name, n] : networks) {
    const LinkState* bridge = links.find(n.bridge.value);
    if (n.dns.enabled && bridge) bridges[name] = bridge->ifindex;
  }
  return ResolvedDriver().links(bridges);
}

std::string HostReconciler::dns_root() const { return opts_.run_dir + "/networks"; }

std::map<std::string, ObservedDns> observe_dns(const std::string& root) {
  std::map<std::string, ObservedDns> out;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    DnsServerObserved d = DnsmasqDriver(it->path().string()).observe();
    out[it->path().filename().string()] = {d.running, dns_sum(d.conf), dns_sum(d.hosts), dns_sum(d.dhcp_hosts)};
  }
  return out;
}

ActionOutcome HostReconciler::run(const Action& a, const Plan& plan, const DesiredState& d) {
  const auto t0 = std::chrono::steady_clock::now();
  ActionOutcome out = dispatch(a, plan, d);
  if (profile::enabled()) profile::add(std::string("action.") + to_string(a.type), std::chrono::steady_clock::now() - t0);
  // Done without an error: whatever an earlier run left unfinished for this
  // resource is finished (or, for a delete, moot). Host-wide actions carry
  // no owner of their own.
  if (!a.key.name.empty()) {
    locked([&] {
      store_.journal_end_owner(a.key.str());
    });
  }
  return out;
}

ActionOutcome HostReconciler::dispatch(const Action& a, const Plan& plan, const DesiredState& d) {
  const Change* c = plan.change_of(a);
  switch (a.type) {
    case ActionType::EnsureNetwork: return ensure_network(a, plan, d);
    case ActionType::DeleteNetwork: return delete_network(a);
    case ActionType::VerifyArtifact: return verify_artifact(a, d);
    case ActionType::ForgetArtifact: return forget(a.key);
    case ActionType::EnsureVm: return ensure_vm(a, c, d);
    case ActionType::DeleteVm: return delete_vm(a.key.name);
    case ActionType::SyncNat: return sync_nat(d, plan);
    case ActionType::SyncDns: return sync_dns(plan);
    case ActionType::SweepDisks: return disks_.sweep(plan.diff.disk_orphans);
    case ActionType::SweepOwned: return sweep_owned(plan.diff.owned_orphans);
    case ActionType::RecordForward: return record(a.key, d);
    case ActionType::ForgetForward: return forget(a.key);
  }
  throw HostError("unknown action");
}

ActionOutcome HostReconciler::record(const ResourceKey& key, const DesiredState& d) {
  const ResourceSpec* spec = d.find(key);
  if (!spec) throw HostError(key.str() + " is not in the manifests");
  // Absolute and normalized, so `watch DIR` can tell what it applied.
  ResourceRecord r{kind_name(key.kind), key.name, spec->hash(), 1, normalize_source_path(spec->source_file),
                   static_cast<int64_t>(std::time(nullptr)), spec->fields_json()};
  fault_point("before", "resource.record");
  locked([&] {
    store_.put_resource(r);
  });
  fault_point("after", "resource.record");
  return ActionOutcome::noted("recorded");
}

ActionOutcome HostReconciler::forget(const ResourceKey& key) {
  locked([&] {
    store_.delete_resource(kind_name(key.kind), key.name);
  });
  return ActionOutcome::noted("deleted");
}

namespace {
// The bridge a Network was last applied with ("" when never applied).
std::string applied_bridge(Store& store, const ResourceKey& key) {
  auto rec = store.resource(kind_name(key.kind), key.name);
  return rec ? applied_network(*rec).bridge.value : "";
}
}  // namespace

ActionOutcome HostReconciler::ensure_network(const Action& a, const Plan& plan, const DesiredState& d) {
  const Change* c = plan.change_of(a);
  const Network* n = d.set.find_network(a.key.name);
  if (!n) throw HostError(a.key.str() + " is not in the manifests");
  const std::string owner = a.key.str();
  std::string old_bridge = locked([&] { return applied_bridge(store_, a.key); });
  std::lock_guard lock(net_mu_);
  Netlink nl;
  if (c && c->type == ChangeType::Replace && !old_bridge.empty() && old_bridge != n->bridge.value) {
    journaled("delete", "bridge", old_bridge, owner, [&] {
      BridgeDriver(nl).remove(old_bridge);
    });
    locked([&] {
      store_.forget_owned("bridge", old_bridge);
    });
  }
  locked([&] {
    store_.record_owned({"bridge", n->bridge.value, owner});
  });
  NatRuleset rules = target_rules(d, plan);
  BridgeSpec b{n->bridge.value, Cidr{n->subnet.value.gateway(), n->subnet.value.prefix},
               needs_route_localnet(rules, n->subnet.value)};
  // A new subnet on the same bridge: ensure() replaces the address.
  OpResult r = journaled("ensure", "bridge", b.name, owner, [&] { return BridgeDriver(nl).ensure(b, seen_links_); });
  if (n->nat.value && !ipv4_forwarding_enabled()) set_ipv4_forwarding(true);
  record(a.key, d);
  return ActionOutcome{{{"bridge.ensure", b.name, to_string(r), {}}}, ""};
}

ActionOutcome HostReconciler::delete_network(const Action& a) {
  // Its DNS server first: sync-dns ran before, but may have failed.
  remove_dns_server(a.key.name);
  std::string bridge = locked([&] { return applied_bridge(store_, a.key); });
  if (!bridge.empty()) {
    std::lock_guard lock(net_mu_);
    Netlink nl;
    journaled("delete", "bridge", bridge, a.key.str(), [&] {
      BridgeDriver(nl).remove(bridge);
    });
    locked([&] {
      store_.forget_owned("bridge", bridge);
    });
  }
  forget(a.key);
  if (bridge.empty()) return ActionOutcome::noted("deleted");
  return ActionOutcome{{{"bridge.delete", bridge, "deleted", {}}}, ""};
}

ActionOutcome HostReconciler::verify_artifact(const Action& a, const DesiredState& d) {
  // Each file of the resource: downloaded into the store or found, verified.
  std::vector<std::pair<std::string, const ArtifactSource*>> sources;
  if (a.key.kind == Kind::Kernel) {
    const Kernel* k = d.set.find_kernel(a.key.name);
    if (!k) throw HostError(a.key.str() + " is not in the manifests");
    sources.emplace_back("spec", &k->source);
    if (k->initrd) sources.emplace_back("spec.initrd", &*k->initrd);
  } else {
    const Image* i = d.set.find_image(a.key.name);
    if (!i) throw HostError(a.key.str() + " is not in the manifests");
    sources.emplace_back("spec", &i->source);
  }
  ActionOutcome out;
  for (const auto& [field, s] : sources) {
    StepDone summary;
    resolve_artifact(a.key.str(), field, *s, &summary);
    out.add(summary);
  }
  record(a.key, d);
  return out;
}

NatRuleset HostReconciler::target_rules(const DesiredState& d, const Plan& plan) {
  std::set<ResourceKey> deleting;
  for (const Change& c : plan.diff.changes) {
    if (c.type == ChangeType::Delete) deleting.insert(c.key);
  }
  return target_nat(d, records(), deleting);
}

ActionOutcome HostReconciler::sync_nat(const DesiredState& d, const Plan& plan) {
  NatRuleset rules = target_rules(d, plan);
  locked([&] {
    store_.record_owned({"nft-table", "ip banger", "banger"});
  });
  journaled("replace", "nft-table", "ip banger", "banger", [&] {
    nat_.apply(rules);
  });
  if (rules.empty()) {
    locked([&] {
      store_.forget_owned("nft-table", "ip banger");
    });
  }
  // Forwards decide which bridges need route_localnet; bridges that exist now.
  {
    std::lock_guard lock(net_mu_);
    Netlink nl;
    LinkSnapshot links = nl.dump();
    auto records = locked([&] { return store_.resources(); });
    for (const auto& r : records) {
      if (r.kind != "Network") continue;
      Network n = applied_network(r);
      const std::string& bridge = n.bridge.value;
      const LinkState* link = links.find(bridge);
      if (!n.subnet.set || !link || link->type != "bridge") continue;
      bool want = needs_route_localnet(rules, n.subnet.value);
      if (route_localnet_enabled(bridge) != want) set_route_localnet(bridge, want);
    }
  }
  return ActionOutcome{{{"nat.sync",
                         "ip banger",
                         "written",
                         {{"masquerades", std::to_string(rules.masquerades.size())},
                          {"forwards", std::to_string(rules.forwards.size())}}}},
                       ""};
}

}  // namespace banger
