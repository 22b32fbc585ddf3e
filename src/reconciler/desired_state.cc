#include "reconciler/desired_state.h"

#include <cstdio>

namespace banger {

namespace {

template <class R>
ResourceSpec spec_of(Kind kind, const R& res, const KindFields<R>& table, const ManifestSet& set) {
  ResourceSpec s{{kind, res.name()}, res.mark.file, {}};
  for (auto& [name, value] : table.render(res, set)) s.fields.push_back({name, value});
  return s;
}

bool network_used(const Network& n, const ManifestSet& set) {
  if (!n.implicit) return true;
  for (const VM& v : set.vms) {
    if (v.network.value == n.name()) return true;
  }
  return false;
}

}  // namespace

const ResourceSpec* DesiredState::find(const ResourceKey& key) const {
  return index_.find(specs, key.str(), [&](const ResourceSpec& s) { return s.key == key; });
}

void DesiredState::build_index() {
  set.build_index();
  index_.build(specs, [](const ResourceSpec& s) { return s.key.str(); });
}

DesiredState make_desired(ManifestSet manifests) {
  DesiredState d;
  // Moved in by callers that are done with it: at a thousand VMs a second
  // copy of the manifests was 8 MiB of a diff's peak memory.
  d.set = std::move(manifests);
  const ManifestSet& set = d.set;
  for (const Network& n : set.networks) {
    if (network_used(n, set)) d.specs.push_back(spec_of(Kind::Network, n, network_fields(), set));
  }
  for (const Kernel& k : set.kernels) d.specs.push_back(spec_of(Kind::Kernel, k, kernel_fields(), set));
  for (const Image& i : set.images) d.specs.push_back(spec_of(Kind::Image, i, image_fields(), set));
  for (const VM& v : set.vms) d.specs.push_back(spec_of(Kind::VM, v, vm_fields(), set));
  for (const PortForward& p : set.port_forwards) d.specs.push_back(spec_of(Kind::PortForward, p, port_forward_fields(), set));
  d.build_index();
  return d;
}

std::string boot_args(const Kernel& kernel, const VM& vm, Ipv4 ip, const Cidr& subnet,
                      const std::string& nameserver) {
  std::string args = kernel.args.value;
  if (!vm.kernel_args.value.empty()) args += " " + vm.kernel_args.value;
  // ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>
  args += " ip=" + ip.str() + "::" + subnet.gateway().str() + ":" + subnet.netmask() + ":" +
          vm.hostname() + ":eth0:off";
  if (!nameserver.empty()) args += ":" + nameserver;
  return args;
}

std::string mac_for(Ipv4 ip) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "06:00:%02X:%02X:%02X:%02X", ip.value >> 24, (ip.value >> 16) & 255,
                (ip.value >> 8) & 255, ip.value & 255);
  return buf;
}

}  // namespace banger
