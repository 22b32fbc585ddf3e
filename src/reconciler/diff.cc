#include "reconciler/diff.h"

#include "drivers/dnsmasq.h"
#include "reconciler/dns_target.h"

#include "reconciler/restart_policy.h"
#include "reconciler/selection.h"

#include <algorithm>
#include <set>

#include "reconciler/applied_spec.h"
#include "reconciler/interrupted.h"
#include "reconciler/nat_target.h"
#include "reconciler/source_path.h"

namespace banger {

namespace {

std::vector<FieldChange> field_changes(Kind kind, const std::vector<SpecField>& before,
                                       const std::vector<SpecField>& after) {
  std::vector<FieldChange> out;
  auto value = [](const std::vector<SpecField>& fs, const std::string& name) -> const std::string* {
    for (const auto& f : fs) {
      if (f.name == name) return &f.value;
    }
    return nullptr;
  };
  for (const auto& f : after) {
    const std::string* old = value(before, f.name);
    // A field added since the record was written counts as its default.
    if (!old && field_default(kind, f.name) == f.value) continue;
    if (!old || *old != f.value) {
      out.push_back({f.name, old ? *old : "", f.value, field_effect(kind, f.name)});
    }
  }
  for (const auto& f : before) {
    if (!value(after, f.name)) out.push_back({f.name, f.value, "", field_effect(kind, f.name)});
  }
  return out;
}

int delete_rank(Kind k) {
  switch (k) {
    case Kind::PortForward: return 0;
    case Kind::VM: return 1;
    case Kind::Image: return 2;
    case Kind::Kernel: return 3;
    case Kind::Network: return 4;
  }
  return 5;
}

void sort_deletes(std::vector<Change>& deletes) {
  std::sort(deletes.begin(), deletes.end(), [](const Change& a, const Change& b) {
    return delete_rank(a.key.kind) < delete_rank(b.key.kind) ||
           (delete_rank(a.key.kind) == delete_rank(b.key.kind) && a.key.name < b.key.name);
  });
}

// What prune deletes: applied, no longer named, and within the prune scope.
std::set<ResourceKey> pruned(const DesiredState& d, const ObservedState& o, const DiffOptions& opts) {
  std::set<ResourceKey> out;
  if (!opts.prune) return out;
  for (const ResourceKey& key : leftovers(d, o)) {
    if (opts.prune_under && !path_within(o.applied.at(key).source_file, *opts.prune_under)) continue;
    if (opts.prune_selector && !opts.prune_selector->matches(record_labels(o.applied.at(key)))) continue;
    out.insert(key);
  }
  return out;
}

class Differ {
 public:
  Differ(const DesiredState& d, const ObservedState& o, const DiffOptions& opts)
      : d_(d), o_(o), opts_(opts), expected_nat_(NatDriver::expected(target_nat(d, o, pruned(d, o, opts)))) {}

  Diff run() {
    Diff diff;
    for (const ResourceSpec& spec : d_.specs) {
      auto c = compare(spec);
      if (!c) continue;
      if (spec.key.kind == Kind::VM) runtime_rules(spec.key.name, *c);
      diff.changes.push_back(std::move(*c));
    }
    if (opts_.prune) {
      std::vector<Change> deletes;
      std::set<ResourceKey> gone = pruned(d_, o_, opts_);
      for (const auto& [key, rec] : o_.applied) {
        if (gone.count(key)) deletes.push_back(Change{key, ChangeType::Delete, {}, {}, false, rec.source_file});
      }
      sort_deletes(deletes);
      diff.changes.insert(diff.changes.end(), deletes.begin(), deletes.end());
    }
    // A VM record without an applied resource is a create that was cut short
    // (crash, Ctrl-C). If the manifests no longer want it, what it made is
    // removed even without --prune: it was never applied, so nothing else
    // can own it.
    for (const auto& [name, rec] : o_.vms) {
      ResourceKey key{Kind::VM, name};
      if (o_.applied.count(key) || d_.find(key) || diff.find(key)) continue;
      diff.changes.push_back(Change{key, ChangeType::Delete, {}, {"an interrupted create left it behind"}, false, ""});
    }
    diff.nat_drift = uncovered_nat_drift(diff);
    diff.dns_sync = needs_dns_sync(diff);
    diff.retry_at_ms = retry_at_;
    diff.disk_orphans = find_disk_orphans(o_);
    std::set<ResourceKey> planned;
    for (const Change& c : diff.changes) planned.insert(c.key);
    diff.owned_orphans = find_owned_orphans(o_, planned);
    return diff;
  }

 private:
  std::optional<Change> compare(const ResourceSpec& spec) {
    Change c{spec.key, ChangeType::Create, {}, {}, false, spec.source_file};
    auto rec = o_.applied.find(spec.key);
    if (rec == o_.applied.end()) return c;
    const bool vm = spec.key.kind == Kind::VM;
    const bool forced = vm && opts_.replace.count(spec.key) > 0;
    // The hash is a shortcut; the fields decide. They can differ only in
    // order, for a record written by a build whose table listed them so.
    if (rec->second.spec_hash != spec.hash()) {
      c.fields = field_changes(spec.key.kind, applied_fields(rec->second),
                               spec.fields);
    }
    if (!c.fields.empty()) {
      if (vm) strategy_effect(spec.key.name, c.fields);
      bool replace = std::any_of(c.fields.begin(), c.fields.end(),
                                 [](const FieldChange& f) { return f.effect == FieldEffect::Replace; });
      bool restart = std::any_of(c.fields.begin(), c.fields.end(),
                                 [](const FieldChange& f) { return f.effect == FieldEffect::Restart; });
      c.type = replace || forced ? ChangeType::Replace : ChangeType::Update;
      if (vm) c.restart = (c.type == ChangeType::Replace || restart) && runs_now_and_wanted(spec.key.name);
    } else if (forced) {
      c.type = ChangeType::Replace;
      c.restart = runs_now_and_wanted(spec.key.name);
    } else {
      c.drift = drift(spec);
      // Observe may find nothing wrong, yet a step was cut short: the
      // resource is ensured again, and that closes its journal entries.
      for (const std::string& step : unfinished_steps(o_, spec.key)) {
        c.drift.push_back("an interrupted run left " + step + " unfinished");
      }
      if (vm) disk_rules(spec.key.name, c);
      if (c.drift.empty() && c.error.empty()) return std::nullopt;
      c.type = ChangeType::Repair;
      c.keep_down = keep_down_.count(spec.key.name) > 0;
      return c;
    }
    if (forced) c.notes.push_back("replacement requested with --replace");
    if (vm) disk_rules(spec.key.name, c);
    c.stop_first = vm && (c.type == ChangeType::Replace ||
                          std::any_of(c.fields.begin(), c.fields.end(),
                                      [](const FieldChange& f) { return f.effect != FieldEffect::InPlace; }));
    return c;
  }

  // A change that stops this VM starts it again only when it runs now and
  // the manifests want it running.
  bool runs_now_and_wanted(const std::string& name) const {
    const VM* v = d_.set.find_vm(name);
    return v && v->state.value == VmState::Running && o_.running.count(name);
  }

  // A VM this change starts runs under the runtime choose_runtime picks; the
  // plan says which and why, and one that nothing here can run refuses the
  // plan before anything changes (not a bridge made, then a failed start).
  void runtime_rules(const std::string& name, Change& c) const {
    const VM* vm = d_.set.find_vm(name);
    if (!o_.hypervisors.known || !vm || vm->state.value != VmState::Running || c.keep_down) return;
    if (o_.running.count(name) && !c.restart) return;
    RuntimeChoice rc = choose_runtime(vm->runtime.value, o_.hypervisors);
    if (!rc.error.empty()) {
      if (c.error.empty()) c.error = rc.error;
      return;
    }
    c.notes.push_back("runtime " + rc.label() + " (" + rc.reason + ")");
  }

  // A diskStrategy change matters only when it names another method than
  // the one the disk was made with: that disk is then made anew. `auto` (or
  // the same method) keeps the disk, whatever auto would pick today.
  void strategy_effect(const std::string& vm, std::vector<FieldChange>& fields) const {
    auto disk = o_.disks.find(vm);
    for (FieldChange& f : fields) {
      if (f.field != "diskStrategy") continue;
      bool other = disk != o_.disks.end() && f.after != "auto" && f.after != disk->second.method;
      f.effect = other ? FieldEffect::Replace : FieldEffect::InPlace;
    }
  }

  // What a VM's disk allows: a replace loses its data (accepted only by
  // --replace); a disk never shrinks, and a snapshot never grows.
  void disk_rules(const std::string& name, Change& c) const {
    const ResourceKey key{Kind::VM, name};
    if (c.type == ChangeType::Replace) {
      c.data_loss = true;
      c.replace_accepted = opts_.replace.count(key) > 0;
      return;
    }
    auto disk = o_.disks.find(name);
    const VM* vm = d_.set.find_vm(name);
    if (disk == o_.disks.end() || !vm) return;
    uint64_t want = vm->disk_size.value;
    if (want == 0) {
      const Image* img = d_.set.find_image(vm->image.value);
      if (!img || !img->source.known_size) return;
      want = *img->source.known_size;
    }
    const uint64_t have = static_cast<uint64_t>(disk->second.size);
    const std::string how = "; to make a new disk (its data is lost), run apply with --replace " + key.str();
    if (want < have) {
      c.error = "diskSize " + format_size(want) + " is smaller than its disk (" + format_size(have) +
                "), and a disk is never shrunk: set diskSize to " + format_size(have) + " or more" + how;
    } else if (want > have && disk->second.method == "snapshot") {
      c.error = "diskSize " + format_size(want) + " is larger than its disk, a device-mapper snapshot of " +
                format_size(have) + " that cannot grow" + how;
    }
  }

  std::vector<std::string> drift(const ResourceSpec& spec) {
    std::vector<std::string> out;
    const std::string& name = spec.key.name;
    switch (spec.key.kind) {
      case Kind::Network: {
        const Network* n = d_.set.find_network(name);
        if (!n) break;
        check_bridge(*n, out);
        if (n->nat.value && !o_.ip_forward) out.push_back("IPv4 forwarding is off");
        if (!nat_matches(NatDriver::network_owner(name))) out.push_back("masquerade rule missing or changed");
        check_dns(*n, out);
        break;
      }
      case Kind::VM: check_vm(spec, out); break;
      case Kind::PortForward:
        if (!nat_matches(NatDriver::forward_owner(name))) out.push_back("nft rules missing or changed");
        break;
      default: break;
    }
    return out;
  }

  void check_bridge(const Network& n, std::vector<std::string>& out) {
    const std::string& b = n.bridge.value;
    const LinkState* link = o_.links.find(b);
    if (!link) return out.push_back("bridge " + b + " is missing");
    if (link->type != "bridge") return out.push_back(b + " is not a bridge");
    if (!link->up) out.push_back("bridge " + b + " is down");
    std::string gw = Cidr{n.subnet.value.gateway(), n.subnet.value.prefix}.str();
    if (std::find(link->ipv4.begin(), link->ipv4.end(), gw) == link->ipv4.end()) {
      out.push_back("bridge " + b + " lacks its address " + gw);
    }
  }

  // The network's dnsmasq: running when DNS is on, serving the config and
  // names the manifests and VM records make. Not judged against an export
  // that has no DNS servers in it.
  void check_dns(const Network& n, std::vector<std::string>& out) {
    if (!o_.dns) return;
    auto it = o_.dns->find(n.name());
    if (!n.dns.enabled) {
      if (it != o_.dns->end() && it->second.running) out.push_back("dns server is running but spec.dns.enabled is false");
      return;
    }
    if (it == o_.dns->end() || !it->second.running) return out.push_back("dns server is not running");
    if (it->second.conf_sum != dns_sum(dnsmasq_conf(dns_server_spec(n, o_.dns_root, o_.dns_user)))) {
      out.push_back("dns server config changed");
    }
    // Where systemd-resolved runs, the host sends NAME.DOMAIN to the server.
    if (o_.resolved) {
      auto link = o_.resolved->find(n.name());
      const Ipv4 gw = n.subnet.value.gateway();
      if (link != o_.resolved->end() && (!link->second || !ResolvedDriver::routes(*link->second, gw, n.dns.domain))) {
        out.push_back("systemd-resolved does not send ." + n.dns.domain + " to " + gw.str() + " on " + n.bridge.value);
      }
    }
    if (!dns_hosts_) dns_hosts_ = dns_hosts(applied_networks(o_.applied), o_.vms);
    if (it->second.hosts_sum != dns_sum(dnsmasq_hosts(*dns_hosts_)) ||
        it->second.dhcp_sum != dns_sum(dnsmasq_dhcp_hosts(n.name(), *dns_hosts_))) {
      out.push_back("dns names or DHCP reservations out of date");
    }
  }

  void check_vm(const ResourceSpec& spec, std::vector<std::string>& out) {
    const std::string& name = spec.key.name;
    auto rec = o_.vms.find(name);
    if (rec == o_.vms.end()) return out.push_back("no VM record");
    const VM* vm = d_.set.find_vm(name);
    const Network* net = vm ? d_.set.find_network(vm->network.value) : nullptr;
    const LinkState* tap = o_.links.find(rec->second.tap);
    if (!tap) {
      out.push_back("tap " + rec->second.tap + " is missing");
    } else {
      const LinkState* bridge = net ? o_.links.find(net->bridge.value) : nullptr;
      if (!bridge || tap->master != bridge->ifindex) {
        out.push_back("tap " + rec->second.tap + " is not attached to bridge " +
                      (net ? net->bridge.value : "?"));
      }
      if (!tap->up) out.push_back("tap " + rec->second.tap + " is down");
      if (net && tap->isolated != net->isolation.value) {
        out.push_back("tap " + rec->second.tap + (net->isolation.value ? " is not isolated" : " is isolated") +
                      " (Network/" + net->name() + " has isolation: " + (net->isolation.value ? "true" : "false") + ")");
      }
    }
    if (!o_.disks_present.count(name)) out.push_back("disk " + rec->second.disk_path + " is missing");
    bool want_running = *spec.get("state") == "running";
    bool is_running = o_.running.count(name) > 0;
    if (want_running && !is_running) process_exited(spec, out);
    if (!want_running && is_running) out.push_back("process is running but state is stopped");
  }

  // A VM that should run and does not: start it, unless its process ended on
  // its own and restartPolicy or the back-off says to wait.
  void process_exited(const ResourceSpec& spec, std::vector<std::string>& out) {
    const std::string& name = spec.key.name;
    const std::string* policy = spec.get("restartPolicy");
    RestartDecision d = decide_restart(policy ? *policy : "always", name, o_);
    switch (d.kind) {
      case RestartDecision::Kind::NotExited: out.push_back("process is not running"); break;
      case RestartDecision::Kind::Restart: out.push_back(d.reason); break;
      case RestartDecision::Kind::Wait:
        if (!opts_.respect_backoff) {
          out.push_back(d.reason);
          break;
        }
        keep_down_.insert(name);
        retry_at_ = retry_at_ ? std::min(*retry_at_, d.at_ms) : d.at_ms;
        break;
      case RestartDecision::Kind::Stay: keep_down_.insert(name); break;
    }
  }

  // sync-dns runs when names may change (a network or VM changes) and some
  // network serves DNS, or when a server is left whose network is gone or
  // has DNS off.
  bool needs_dns_sync(Diff& diff) const {
    std::set<std::string> serving;
    for (const Network& n : d_.set.networks) {
      if (n.dns.enabled && d_.find({Kind::Network, n.name()})) serving.insert(n.name());
    }
    bool leftover = false;
    if (o_.dns) {
      for (const auto& [name, dns] : *o_.dns) {
        if (serving.count(name)) continue;
        leftover = true;
        // A network deleted in this plan says so itself.
        if (!diff.find({Kind::Network, name})) diff.dns_orphans.push_back(name);
      }
    }
    if (leftover) return true;
    if (serving.empty()) return false;
    for (const Change& c : diff.changes) {
      if (c.key.kind == Kind::Network || c.key.kind == Kind::VM) return true;
    }
    return false;
  }

  bool nat_matches(const std::string& owner) const {
    // Not listed (a reader without root cannot list nftables): taken as
    // banger left it, the one drift such a diff cannot see.
    if (!o_.nat_known) return true;
    auto get = [&](const NatObserved& n) {
      auto it = n.rules_by_owner.find(owner);
      return it == n.rules_by_owner.end() ? std::vector<std::string>{} : it->second;
    };
    return get(expected_nat_) == get(o_.nat);
  }

  // Owners whose rules differ but whose resource has no change of its own
  // (a hand-added rule, one left by a resource banger no longer knows).
  bool uncovered_nat_drift(const Diff& diff) const {
    std::set<std::string> owners;
    for (const auto& [owner, rules] : expected_nat_.rules_by_owner) owners.insert(owner);
    for (const auto& [owner, rules] : o_.nat.rules_by_owner) owners.insert(owner);
    for (const std::string& owner : owners) {
      if (nat_matches(owner)) continue;
      bool covered = false;
      for (const Change& c : diff.changes) {
        if ((c.key.kind == Kind::Network && owner == NatDriver::network_owner(c.key.name)) ||
            (c.key.kind == Kind::PortForward && owner == NatDriver::forward_owner(c.key.name))) {
          covered = true;
        }
      }
      if (!covered) return true;
    }
    return false;
  }

  const DesiredState& d_;
  const ObservedState& o_;
  DiffOptions opts_;
  NatObserved expected_nat_;
  std::optional<std::vector<DnsHost>> dns_hosts_;  ///< what every DNS server should answer, made once
  std::set<std::string> keep_down_;  ///< VMs left down by restartPolicy/back-off
  std::optional<int64_t> retry_at_;
};

}  // namespace

Diff compute_diff(const DesiredState& desired, const ObservedState& observed,
                  const DiffOptions& opts) {
  return Differ(desired, observed, opts).run();
}

Diff deletion_diff(const std::set<ResourceKey>& keys, const ObservedState& observed) {
  Diff diff;
  for (const ResourceKey& key : keys) {
    auto rec = observed.applied.find(key);
    if (rec != observed.applied.end()) {
      diff.changes.push_back(Change{key, ChangeType::Delete, {}, {}, false, rec->second.source_file});
    } else if (key.kind == Kind::VM && observed.vms.count(key.name)) {
      diff.changes.push_back(Change{key, ChangeType::Delete, {}, {"an interrupted create left it behind"}, false, ""});
    }
  }
  sort_deletes(diff.changes);
  // The servers that stay must forget the VMs that go (sync-dns works from
  // the records alone; a network that goes takes its own server).
  if (observed.dns && !observed.dns->empty()) {
    for (const Change& c : diff.changes) diff.dns_sync = diff.dns_sync || c.key.kind == Kind::VM;
  }
  return diff;
}

}  // namespace banger
