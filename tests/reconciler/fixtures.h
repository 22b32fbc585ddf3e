// Desired and observed states for the pure reconciler tests.
#pragma once

#include <ctime>
#include <string>

#include "reconciler/desired_state.h"
#include "reconciler/observed_state.h"
#include "resources/manifest_loader.h"

namespace banger::test {

inline const char* kFleet = R"(apiVersion: banger.dev/v1
kind: Network
metadata: {name: lab}
spec: {subnet: 10.9.0.0/24}
---
apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec: {path: /k/vmlinux}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: i}
spec: {path: /i/root.ext4}
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: web}
spec: {kernel: k, image: i, network: lab, memory: 256Mi, ip: 10.9.0.10, runtime: firecracker}
---
apiVersion: banger.dev/v1
kind: PortForward
metadata: {name: web-http}
spec: {vm: web, hostPort: 8080, guestPort: 80}
)";

inline DesiredState desired_from(const std::string& yaml) {
  LoadResult r = load_texts({SourceText{"fleet.yaml", "/m", yaml}});
  if (!r.ok()) throw std::runtime_error(r.diags.sorted().front().format());
  return make_desired(r.set);
}

/// The host exactly as a successful apply of `d` leaves it.
inline ObservedState converged(const DesiredState& d) {
  ObservedState o;
  o.ip_forward = true;
  int ifindex = 10;
  std::map<std::string, Ipv4> ips;
  for (const ResourceSpec& s : d.specs) {
    o.applied[s.key] = ResourceRecord{kind_name(s.key.kind), s.key.name, s.hash(), 1, s.source_file,
                                      static_cast<int64_t>(std::time(nullptr)), s.fields_json()};
  }
  for (const Network& n : d.set.networks) {
    if (!d.find({Kind::Network, n.name()})) continue;
    LinkState b{n.bridge.value, ++ifindex, "bridge", 0, true,
                {Cidr{n.subnet.value.gateway(), n.subnet.value.prefix}.str()}};
    o.links.by_name[b.name] = b;
  }
  uint32_t next = 0;
  for (const VM& v : d.set.vms) {
    const Network* n = d.set.find_network(v.network.value);
    Ipv4 ip = v.ip.value ? *v.ip.value : Ipv4{n->subnet.value.gateway().value + 1 + next++};
    std::string tap = "bg-tap-" + v.name();
    o.vms[v.name()] = VmRecord{v.name(), n->name(), ip.str(), mac_for(ip), tap, "/d/" + v.name()};
    o.links.by_name[tap] = LinkState{tap, ++ifindex, "tun", o.links.find(n->bridge.value)->ifindex, true, {}};
    o.disks_present.insert(v.name());
    if (v.state.value == VmState::Running) {
      o.running.insert(v.name());
      o.runtimes[v.name()] = VmRuntime{v.name(), 1234, 99, "/usr/bin/firecracker", "/s", "/l", "firecracker", 0};
    }
  }
  return o;
}

}  // namespace banger::test
