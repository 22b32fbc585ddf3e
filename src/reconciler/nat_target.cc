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

#include "reconciler/observed_state.h"

namespace banger {

namespace {
std::string field(const ResourceRecord& r, const std::string& name) {
  for (const auto& f : ResourceSpec::fields_from_json(r.spec_json)) {
    if (f.name == name) return f.value;
  }
  return "";
}
}  // namespace

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
      auto subnet = parse_cidr(field(rec, "subnet"));
      if (!subnet) continue;
      subnets.emplace(key.name, *subnet);
      if (field(rec, "nat") == "true") rules.masquerades.push_back({key.name, *subnet});
    }
  }
  for (const auto& [key, rec] : observed.applied) {
    if (key.kind != Kind::PortForward || desired.find(key) || deleting.count(key)) continue;
    auto vm = observed.vms.find(field(rec, "vm"));
    if (vm == observed.vms.end()) continue;
    auto ip = parse_ipv4(vm->second.ip);
    auto addr = parse_ipv4(field(rec, "hostAddress"));
    auto subnet = subnets.find(vm->second.network);
    if (!ip || !addr || subnet == subnets.end()) continue;
    DnatRule d;
    d.forward = key.name;
    d.protocol = field(rec, "protocol") == "udp" ? Protocol::Udp : Protocol::Tcp;
    d.host_address = *addr;
    d.host_port = static_cast<uint16_t>(std::stoi("0" + field(rec, "hostPort")));
    d.guest_ip = *ip;
    d.guest_port = static_cast<uint16_t>(std::stoi("0" + field(rec, "guestPort")));
    d.subnet = subnet->second;
    rules.forwards.push_back(d);
  }
  return rules;
}

}  // namespace banger
