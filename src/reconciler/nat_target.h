// The NAT ruleset the manifests imply, given each VM's address. Pure.
#pragma once

#include <map>
#include <set>
#include <string>

#include "drivers/nat.h"
#include "reconciler/desired_state.h"

namespace banger {

/// Masquerade for each used network with nat; DNAT for each forward whose VM
/// has an address in `vm_ips`.
NatRuleset desired_nat(const DesiredState& desired, const std::map<std::string, Ipv4>& vm_ips);

}  // namespace banger

namespace banger {
struct ObservedState;

/// VM name -> address, from the durable records.
std::map<std::string, Ipv4> recorded_ips(const ObservedState& observed);

/// The ruleset table `ip banger` should hold: what the manifests imply, plus
/// the rules of resources applied earlier that are no longer in the
/// manifests but are not being deleted either (apply without --prune leaves
/// them as they are, as kubectl apply does).
NatRuleset target_nat(const DesiredState& desired, const ObservedState& observed,
                      const std::set<ResourceKey>& deleting);
/// route_localnet lets the host reach a VM through 127.0.0.1:PORT. It also
/// lets loopback-addressed packets cross that bridge, so it is on only for a
/// bridge whose subnet has a forward covering loopback (0.0.0.0 or 127/8).
bool needs_route_localnet(const NatRuleset& rules, const Cidr& subnet);

/// Everything applied that `desired` no longer names: what --prune deletes.
std::set<ResourceKey> leftovers(const DesiredState& desired, const ObservedState& observed);

}  // namespace banger
