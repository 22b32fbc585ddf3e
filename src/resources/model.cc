#include "resources/model.h"

#include <algorithm>

#include "resources/yaml_scalar.h"

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

template <>
const std::vector<std::pair<std::string, VmState>>& enum_names<VmState>() {
  static const std::vector<std::pair<std::string, VmState>> v = {{"running", VmState::Running},
                                                                 {"stopped", VmState::Stopped}};
  return v;
}
template <>
const std::vector<std::pair<std::string, RestartPolicy>>& enum_names<RestartPolicy>() {
  static const std::vector<std::pair<std::string, RestartPolicy>> v = {
      {"always", RestartPolicy::Always}, {"on-failure", RestartPolicy::OnFailure}, {"never", RestartPolicy::Never}};
  return v;
}
template <>
const std::vector<std::pair<std::string, Runtime>>& enum_names<Runtime>() {
  static const std::vector<std::pair<std::string, Runtime>> v = {
      {"auto", Runtime::Auto}, {"firecracker", Runtime::Firecracker}, {"qemu", Runtime::Qemu}};
  return v;
}
template <>
const std::vector<std::pair<std::string, DiskStrategy>>& enum_names<DiskStrategy>() {
  static const std::vector<std::pair<std::string, DiskStrategy>> v = {{"auto", DiskStrategy::Auto},
                                                                      {"snapshot", DiskStrategy::Snapshot},
                                                                      {"reflink", DiskStrategy::Reflink},
                                                                      {"copy", DiskStrategy::Copy}};
  return v;
}
template <>
const std::vector<std::pair<std::string, Protocol>>& enum_names<Protocol>() {
  static const std::vector<std::pair<std::string, Protocol>> v = {{"tcp", Protocol::Tcp}, {"udp", Protocol::Udp}};
  return v;
}

bool Placement::matches(const NodeIdentity& n) const {
  if (!set) return true;
  if (!node.empty()) return node == n.name;
  for (const auto& [k, v] : node_selector) {
    auto it = n.labels.find(k);
    if (it == n.labels.end() || it->second != v) return false;
  }
  return true;
}

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

template <>
const std::vector<std::pair<std::string, GuestInject>>& enum_names<GuestInject>() {
  static const std::vector<std::pair<std::string, GuestInject>> v = {{"auto", GuestInject::Auto},
                                                                     {"cloud-init", GuestInject::CloudInit},
                                                                     {"files", GuestInject::Files},
                                                                     {"none", GuestInject::None}};
  return v;
}

std::vector<std::string> Guest::keys() const {
  std::vector<std::string> out;
  for (const auto& k : authorized_keys) out.push_back(k.line);
  for (const auto& k : file_keys) out.push_back(k.line);
  return out;
}

const std::string& VM::ssh_user() const {
  static const std::string root = "root";
  return guest.ssh_user.value.empty() ? root : guest.ssh_user.value;
}

namespace {
template <class T>
const T* find_named(const PositionIndex& index, const std::vector<T>& v, std::string_view name) {
  return index.find(v, std::string(name), [&](const T& r) { return r.name() == name; });
}
const auto name_of = [](const auto& r) { return std::string(r.name()); };
}  // namespace

const Network* ManifestSet::find_network(std::string_view n) const { return find_named(network_index_, networks, n); }
const Kernel* ManifestSet::find_kernel(std::string_view n) const { return find_named(kernel_index_, kernels, n); }
const Image* ManifestSet::find_image(std::string_view n) const { return find_named(image_index_, images, n); }
const VM* ManifestSet::find_vm(std::string_view n) const { return find_named(vm_index_, vms, n); }

void ManifestSet::build_index() {
  network_index_.build(networks, name_of);
  kernel_index_.build(kernels, name_of);
  image_index_.build(images, name_of);
  vm_index_.build(vms, name_of);
}

std::string resource_address(const ObjectMeta& r) { return std::string(kind_name(r.kind)) + "/" + printable(r.name()); }

}  // namespace banger
