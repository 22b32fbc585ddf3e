#include "reconciler/plan.h"

#include <map>

namespace banger {

const char* to_string(ActionType t) {
  switch (t) {
    case ActionType::EnsureNetwork: return "ensure-network";
    case ActionType::DeleteNetwork: return "delete-network";
    case ActionType::VerifyArtifact: return "verify-artifact";
    case ActionType::ForgetArtifact: return "forget-artifact";
    case ActionType::EnsureVm: return "ensure-vm";
    case ActionType::DeleteVm: return "delete-vm";
    case ActionType::SyncNat: return "sync-nat";
    case ActionType::SyncDns: return "sync-dns";
    case ActionType::RecordForward: return "record-forward";
    case ActionType::ForgetForward: return "forget-forward";
    case ActionType::SweepDisks: return "sweep-disks";
    case ActionType::SweepOwned: return "sweep-owned";
  }
  return "?";
}

namespace {

ActionType action_for(const Change& c) {
  bool del = c.type == ChangeType::Delete;
  switch (c.key.kind) {
    case Kind::Network: return del ? ActionType::DeleteNetwork : ActionType::EnsureNetwork;
    case Kind::Kernel:
    case Kind::Image: return del ? ActionType::ForgetArtifact : ActionType::VerifyArtifact;
    case Kind::VM: return del ? ActionType::DeleteVm : ActionType::EnsureVm;
    case Kind::PortForward: return del ? ActionType::ForgetForward : ActionType::RecordForward;
  }
  return ActionType::SyncNat;
}

}  // namespace

Plan make_plan(Diff diff, const DesiredState& desired) {
  Plan plan;
  plan.diff = std::move(diff);
  if (plan.diff.retry_at_ms) {
    plan.retry_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(*plan.diff.retry_at_ms));
  }
  std::map<ResourceKey, int> by_key;
  bool touches_nat = plan.diff.nat_drift;
  for (size_t i = 0; i < plan.diff.changes.size(); ++i) {
    const Change& c = plan.diff.changes[i];
    Action a;
    a.id = static_cast<int>(plan.actions.size());
    a.type = action_for(c);
    a.key = c.key;
    a.change = static_cast<int>(i);
    by_key[c.key] = a.id;
    plan.actions.push_back(a);
    if (c.key.kind == Kind::Network || c.key.kind == Kind::VM || c.key.kind == Kind::PortForward) {
      touches_nat = true;
    }
  }
  // Leftovers go first: a new VM may want the name of a dm device a crash left.
  int sweep = -1;
  if (!plan.diff.disk_orphans.empty()) {
    sweep = static_cast<int>(plan.actions.size());
    plan.actions.push_back(Action{sweep, ActionType::SweepDisks, {Kind::VM, ""}, -1, {}, {}});
  }
  // Before everything: a gone network's bridge may carry the name a new one
  // wants, a gone VM's hypervisor may hold a tap.
  int sweep_owned = -1;
  if (!plan.diff.owned_orphans.empty()) {
    sweep_owned = static_cast<int>(plan.actions.size());
    plan.actions.push_back(Action{sweep_owned, ActionType::SweepOwned, {Kind::VM, ""}, -1, {}, {}});
  }
  int sync = -1;
  if (touches_nat) {
    sync = static_cast<int>(plan.actions.size());
    plan.actions.push_back(Action{sync, ActionType::SyncNat, {Kind::Network, ""}, -1, {}, {}});
  }
  // After the VMs have addresses (or are gone), before a network's bridge
  // goes: the servers answer for what the host has.
  int dns = -1;
  if (plan.diff.dns_sync) {
    dns = static_cast<int>(plan.actions.size());
    plan.actions.push_back(Action{dns, ActionType::SyncDns, {Kind::Network, ""}, -1, {}, {}});
  }
  auto id_of = [&](Kind k, const std::string& name) {
    auto it = by_key.find({k, name});
    return it == by_key.end() ? -1 : it->second;
  };
  auto add = [](std::vector<int>& v, int id) {
    if (id >= 0) v.push_back(id);
  };

  for (Action& a : plan.actions) {
    switch (a.type) {
      case ActionType::EnsureVm: {
        const VM* vm = desired.set.find_vm(a.key.name);
        if (!vm) break;
        add(a.needs, id_of(Kind::Network, vm->network.value));
        add(a.needs, id_of(Kind::Kernel, vm->kernel.value));
        add(a.needs, id_of(Kind::Image, vm->image.value));
        break;
      }
      case ActionType::RecordForward: {
        const PortForward* p = nullptr;
        for (const auto& f : desired.set.port_forwards) {
          if (f.name() == a.key.name) p = &f;
        }
        add(a.needs, sync);
        if (p) add(a.needs, id_of(Kind::VM, p->vm.value));
        break;
      }
      case ActionType::ForgetForward: add(a.needs, sync); break;
      default: break;
    }
  }
  // Ordering without success dependency: the table is written once every VM
  // has its address (or failed); deletions of what rules point at come after.
  for (Action& a : plan.actions) {
    if (a.type == ActionType::SyncDns) {
      for (const Action& b : plan.actions) {
        if (b.type == ActionType::EnsureNetwork || b.type == ActionType::EnsureVm ||
            b.type == ActionType::DeleteVm) {
          a.after.push_back(b.id);
        }
      }
    }
    if (a.type == ActionType::SyncNat) {
      for (const Action& b : plan.actions) {
        if (b.type == ActionType::EnsureNetwork || b.type == ActionType::EnsureVm ||
            b.type == ActionType::DeleteVm) {
          a.after.push_back(b.id);
        }
      }
    }
    if (a.type == ActionType::EnsureVm) add(a.after, sweep);
    if (a.id != sweep_owned) add(a.after, sweep_owned);
    if (a.type == ActionType::DeleteNetwork) add(a.after, dns);
    if (a.type == ActionType::DeleteNetwork || a.type == ActionType::ForgetArtifact) {
      add(a.after, sync);
      for (const Action& b : plan.actions) {
        if (b.type == ActionType::DeleteVm) a.after.push_back(b.id);
      }
    }
  }
  return plan;
}

}  // namespace banger
