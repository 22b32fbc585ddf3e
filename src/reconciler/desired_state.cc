#include "reconciler/desired_state.h"

#include <cstdio>

namespace banger {

namespace {

std::string artifact_ref(const ArtifactSource& a) {
  return a.url.set ? a.url.value : a.resolved_path;
}

// What a VM boots from. A URL names content only through its sha256, so the
// hash is part of it: a new hash at the same URL restarts the VM (kernel) or
// replaces its disk (image), as a new path would.
std::string boot_ref(const ArtifactSource& a) {
  if (!a.url.set) return a.resolved_path;
  return a.url.value + " (sha256:" + a.sha256.value.substr(0, 12) + ")";
}

std::string readiness_str(const Readiness& r) {
  switch (r.probe) {
    case Readiness::Probe::None: return "none";
    case Readiness::Probe::Tcp:
      return "tcp:" + std::to_string(r.port) + " timeout " + format_duration(r.timeout);
    case Readiness::Probe::Http:
      return "http:" + std::to_string(r.port) + r.path + " timeout " + format_duration(r.timeout);
  }
  return "?";
}

ResourceSpec network_spec(const Network& n) {
  return {{Kind::Network, n.name()},
          n.mark.file,
          {{"subnet", n.subnet.value.str()},
           {"bridge", n.bridge.value},
           {"nat", n.nat.value ? "true" : "false"}}};
}

ResourceSpec kernel_spec(const Kernel& k) {
  ResourceSpec s{{Kind::Kernel, k.name()}, k.mark.file, {}};
  s.fields = {{"source", artifact_ref(k.source)}, {"sha256", k.source.sha256.value}};
  if (k.initrd) {
    s.fields.push_back({"initrd", artifact_ref(*k.initrd)});
    s.fields.push_back({"initrdSha256", k.initrd->sha256.value});
  }
  s.fields.push_back({"args", k.args.value});
  return s;
}

ResourceSpec image_spec(const Image& i) {
  return {{Kind::Image, i.name()},
          i.mark.file,
          {{"source", artifact_ref(i.source)}, {"sha256", i.source.sha256.value}}};
}

ResourceSpec vm_spec(const VM& v, const ManifestSet& set) {
  ResourceSpec s{{Kind::VM, v.name()}, v.mark.file, {}};
  const Kernel* k = set.find_kernel(v.kernel.value);
  const Image* i = set.find_image(v.image.value);
  s.fields = {
      {"kernel", v.kernel.value},
      {"kernelSource", k ? boot_ref(k->source) : ""},
      {"initrdSource", k && k->initrd ? boot_ref(*k->initrd) : ""},
      {"kernelArgs", (k ? k->args.value : "") + (v.kernel_args.value.empty() ? "" : " " + v.kernel_args.value)},
      {"image", v.image.value},
      {"imageSource", i ? boot_ref(i->source) : ""},
      {"vcpus", std::to_string(v.vcpus.value)},
      {"memory", format_size(v.memory.value)},
      {"diskSize", v.disk_size.value ? format_size(v.disk_size.value) : "image size"},
      {"network", v.network.value},
      {"ip", v.ip.value ? v.ip.value->str() : "auto"},
      {"state", to_string(v.state.value)},
      {"restartPolicy", to_string(v.restart_policy.value)},
      {"runtime", to_string(v.runtime.value)},
      {"readiness", readiness_str(v.readiness)},
      {"diskStrategy", to_string(v.disk_strategy.value)},
  };
  return s;
}

ResourceSpec forward_spec(const PortForward& p) {
  return {{Kind::PortForward, p.name()},
          p.mark.file,
          {{"vm", p.vm.value},
           {"hostAddress", p.host_address.value.str()},
           {"hostPort", std::to_string(p.host_port.value)},
           {"guestPort", std::to_string(p.guest_port.value)},
           {"protocol", to_string(p.protocol.value)}}};
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
  for (const auto& s : specs) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

DesiredState make_desired(const ManifestSet& set) {
  DesiredState d;
  d.set = set;
  for (const Network& n : set.networks) {
    if (network_used(n, set)) d.specs.push_back(network_spec(n));
  }
  for (const Kernel& k : set.kernels) d.specs.push_back(kernel_spec(k));
  for (const Image& i : set.images) d.specs.push_back(image_spec(i));
  for (const VM& v : set.vms) d.specs.push_back(vm_spec(v, set));
  for (const PortForward& p : set.port_forwards) d.specs.push_back(forward_spec(p));
  return d;
}

FieldEffect field_effect(Kind kind, const std::string& field) {
  switch (kind) {
    case Kind::Network:
      // A new subnet or bridge name is a different bridge; nat is a rule.
      return field == "subnet" || field == "bridge" ? FieldEffect::Replace : FieldEffect::InPlace;
    case Kind::VM:
      // A new image means a new disk; boot parameters need a reboot; the rest
      // is bookkeeping or handled live (state: start/stop).
      if (field == "image" || field == "imageSource") return FieldEffect::Replace;
      if (field == "kernelSource" || field == "initrdSource" || field == "kernelArgs" ||
          field == "vcpus" || field == "memory" || field == "diskSize" || field == "network" ||
          field == "ip" || field == "runtime") {
        return FieldEffect::Restart;
      }
      return FieldEffect::InPlace;
    default:
      return FieldEffect::InPlace;
  }
}

std::string boot_args(const Kernel& kernel, const VM& vm, Ipv4 ip, const Cidr& subnet) {
  std::string args = kernel.args.value;
  if (!vm.kernel_args.value.empty()) args += " " + vm.kernel_args.value;
  // ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>
  args += " ip=" + ip.str() + "::" + subnet.gateway().str() + ":" + subnet.netmask() + ":" +
          vm.name() + ":eth0:off";
  return args;
}

std::string mac_for(Ipv4 ip) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "06:00:%02X:%02X:%02X:%02X", ip.value >> 24, (ip.value >> 16) & 255,
                (ip.value >> 8) & 255, ip.value & 255);
  return buf;
}

}  // namespace banger
