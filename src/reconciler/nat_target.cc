#include "reconciler/nat_target.h"

namespace banger {

NatRuleset desired_nat(const DesiredState& desired, const std::map<std::string, Ipv4>& vm_ips) {
  NatRuleset rules;
  const ManifestSet& set = desired.set;
  for (const Network& n : set.networks) {
    if (n.nat.value && desired.find({Kind::Network, n.name()})) {
      rules.masquerades.push_back({n.name(), n.subnet.value});
    }
  }
  for (const PortForward& p : set.port_forwards) {
    const VM* vm = set.find_vm(p.vm.value);
    auto ip = vm_ips.find(p.vm.value);
    if (!vm || ip == vm_ips.end()) continue;
    const Network* net = set.find_network(vm->network.value);
    if (!net) continue;
    rules.forwards.push_back({p.name(), p.protocol.value, p.host_address.value, p.host_port.value,
                              ip->second, p.guest_port.value, net->subnet.value});
  }
  return rules;
}

}  // namespace banger

#include "reconciler/applied_spec.h"
#include "reconciler/observed_state.h"

namespace banger {

std::map<std::string, Ipv4> recorded_ips(const ObservedState& observed) {
  std::map<std::string, Ipv4> ips;
  for (const auto& [name, rec] : observed.vms) {
    if (auto ip = parse_ipv4(rec.ip)) ips[name] = *ip;
  }
  return ips;
}

bool needs_route_localnet(const NatRuleset& rules, const Cidr& subnet) {
  for (const DnatRule& f : rules.forwards) {
    uint32_t a = f.host_address.value;
    if (f.subnet == subnet && (a == 0 || (a >> 24) == 127)) return true;
  }
  return false;
}

std::set<ResourceKey> leftovers(const DesiredState& desired, const ObservedState& observed) {
  std::set<ResourceKey> out;
  for (const auto& [key, rec] : observed.applied) {
    if (!desired.find(key)) out.insert(key);
  }
  return out;
}

NatRuleset target_nat(const DesiredState& desired, const ObservedState& observed,
                      const std::set<ResourceKey>& deleting) {
  NatRuleset rules = desired_nat(desired, recorded_ips(observed));
  // Subnets of every network, desired or left over, for the forwards below.
  std::map<std::string, Cidr> subnets;
  for (const Network& n : desired.set.networks) subnets[n.name()] = n.subnet.value;
  for (const auto& [key, rec] : observed.applied) {
    if (desired.find(key) || deleting.count(key)) continue;
    if (key.kind == Kind::Network) {
      Network n = applied_network(rec);
      if (!n.subnet.set) continue;
      subnets.emplace(key.name, n.subnet.value);
      if (n.nat.value) rules.masquerades.push_back({key.name, n.subnet.value});
    }
  }
  for (const auto& [key, rec] : observed.applied) {
    if (key.kind != Kind::PortForward || desired.find(key) || deleting.count(key)) continue;
    PortForward pf = applied_forward(rec);
    auto vm = observed.vms.find(pf.vm.value);
    if (vm == observed.vms.end()) continue;
    auto ip = parse_ipv4(vm->second.ip);
    auto subnet = subnets.find(vm->second.network);
    if (!ip || !pf.host_port.set || !pf.guest_port.set || subnet == subnets.end()) continue;
    DnatRule d;
    d.forward = key.name;
    d.protocol = pf.protocol.value;
    d.host_address = pf.host_address.value;
    d.host_port = pf.host_port.value;
    d.guest_ip = *ip;
    d.guest_port = pf.guest_port.value;
    d.subnet = subnet->second;
    rules.forwards.push_back(d);
  }
  return rules;
}

}  // namespace banger
