#include "resources/model.h"

#include <algorithm>

namespace banger {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Network: return "Network";
    case Kind::Kernel: return "Kernel";
    case Kind::Image: return "Image";
    case Kind::VM: return "VM";
    case Kind::PortForward: return "PortForward";
  }
  return "?";
}

const std::vector<std::string>& all_kind_names() {
  static const std::vector<std::string> names = {"Network", "Kernel", "Image", "VM",
                                                 "PortForward"};
  return names;
}

std::optional<Kind> parse_kind(std::string_view s) {
  for (Kind k : {Kind::Network, Kind::Kernel, Kind::Image, Kind::VM, Kind::PortForward}) {
    if (s == kind_name(k)) return k;
  }
  return std::nullopt;
}

const char* to_string(VmState v) { return v == VmState::Running ? "running" : "stopped"; }
const char* to_string(RestartPolicy v) {
  switch (v) {
    case RestartPolicy::Always: return "always";
    case RestartPolicy::OnFailure: return "on-failure";
    case RestartPolicy::Never: return "never";
  }
  return "?";
}
const char* to_string(Runtime v) {
  switch (v) {
    case Runtime::Auto: return "auto";
    case Runtime::Firecracker: return "firecracker";
    case Runtime::Qemu: return "qemu";
  }
  return "?";
}
const char* to_string(DiskStrategy v) {
  switch (v) {
    case DiskStrategy::Auto: return "auto";
    case DiskStrategy::Snapshot: return "snapshot";
    case DiskStrategy::Reflink: return "reflink";
    case DiskStrategy::Copy: return "copy";
  }
  return "?";
}
const char* to_string(Protocol v) { return v == Protocol::Tcp ? "tcp" : "udp"; }

size_t ManifestSet::count(Kind k) const {
  switch (k) {
    case Kind::Network: return networks.size();
    case Kind::Kernel: return kernels.size();
    case Kind::Image: return images.size();
    case Kind::VM: return vms.size();
    case Kind::PortForward: return port_forwards.size();
  }
  return 0;
}

namespace {
template <class T>
const T* find_named(const std::vector<T>& v, std::string_view name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const T& r) { return r.name() == name; });
  return it == v.end() ? nullptr : &*it;
}
}  // namespace

const Network* ManifestSet::find_network(std::string_view n) const { return find_named(networks, n); }
const Kernel* ManifestSet::find_kernel(std::string_view n) const { return find_named(kernels, n); }
const Image* ManifestSet::find_image(std::string_view n) const { return find_named(images, n); }
const VM* ManifestSet::find_vm(std::string_view n) const { return find_named(vms, n); }

}  // namespace banger
