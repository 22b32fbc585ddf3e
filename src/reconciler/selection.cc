#include "reconciler/selection.h"

#include <set>

#include "reconciler/applied_spec.h"

namespace banger {

namespace {

template <class R>
std::vector<R> keep(const std::vector<R>& all, const Wanted& sel, const std::set<std::string>& needed) {
  std::vector<R> out;
  for (const R& r : all) {
    if (needed.count(r.name()) || sel(r)) out.push_back(r);
  }
  return out;
}

}  // namespace

ManifestSet select_resources(const ManifestSet& set, const LabelSelector& selector) {
  return select_with_dependencies(set, [&](const ObjectMeta& r) { return selector.matches(r.metadata.labels); });
}

ManifestSet select_with_dependencies(const ManifestSet& set, const Wanted& sel) {
  ManifestSet out;
  out.port_forwards = keep(set.port_forwards, sel, {});
  std::set<std::string> vms;
  for (const PortForward& p : out.port_forwards) vms.insert(p.vm.value);
  out.vms = keep(set.vms, sel, vms);
  std::set<std::string> networks, kernels, images;
  for (const VM& v : out.vms) {
    networks.insert(v.network.value);
    kernels.insert(v.kernel.value);
    images.insert(v.image.value);
  }
  // The built-in default network has no labels: it comes with the VMs on it.
  for (const Network& n : set.networks) {
    if (n.implicit) networks.insert(n.name());
  }
  out.networks = keep(set.networks, sel, networks);
  out.kernels = keep(set.kernels, sel, kernels);
  out.images = keep(set.images, sel, images);
  out.build_index();
  return out;
}

std::map<std::string, std::string> spec_labels(const ResourceSpec& s) {
  const std::string* l = s.get("labels");
  return l ? parse_labels(*l).value_or(std::map<std::string, std::string>{}) : std::map<std::string, std::string>{};
}

std::map<std::string, std::string> record_labels(const ResourceRecord& r) {
  try {
    for (const SpecField& f : applied_fields(r)) {
      if (f.name == "labels") return parse_labels(f.value).value_or(std::map<std::string, std::string>{});
    }
  } catch (const std::exception&) {
    // a record that does not read back has no labels to match
  }
  return {};
}

}  // namespace banger
