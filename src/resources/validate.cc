#include "resources/validate.h"

#include <map>
#include <set>
#include <algorithm>
#include <functional>
#include <tuple>

#include "resources/model.h"
#include "resources/names.h"
#include "resources/validate_fleet.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

std::string place(const Network& n) {
  return resource_address(n) + (n.implicit ? " (built in)" : " at " + n.mark.str());
}

class Checker {
 public:
  Checker(const ManifestSet& set, Diagnostics& diags) : set_(set), diags_(diags), fleet_(set) {}

  void error(const ObjectMeta& r, const Mark& at, const std::string& field, const std::string& msg) {
    diags_.add(Diagnostic{at, kind_name(r.kind), r.name(), field, msg});
  }

  template <class T>
  void unique_names(const std::vector<T>& items) {
    std::map<std::string, const T*> seen;
    for (const T& r : items) {
      auto [it, fresh] = seen.emplace(r.name(), &r);
      if (!fresh) {
        error(r, r.metadata.name_mark, "metadata.name",
              "duplicate " + std::string(kind_name(r.kind)) + " " + quote(r.name()) +
                  " (also defined at " + it->second->metadata.name_mark.str() +
                  "; expected a unique name per kind)");
      }
    }
  }

  // The names of one kind, gathered once: a reference is a lookup, not a
  // scan of every resource, and "did you mean" runs over distinct names,
  // once per missing value. (25,000 forwards naming a missing VM among
  // 25,000 VMs took minutes when each reference scanned and suggested anew.)
  struct NameIndex {
    std::set<std::string> names;
    std::vector<std::string> distinct;
    std::map<std::string, std::string> guesses;  ///< missing value -> suggestion ("" none)
  };
  // Past this many distinct names a suggestion costs more than it helps.
  static constexpr size_t kMaxSuggestCandidates = 2000;

  template <class Target>
  NameIndex& index_of(const std::vector<Target>& targets) {
    auto [it, fresh] = indexes_.try_emplace(static_cast<const void*>(&targets));
    if (fresh) {
      for (const auto& t : targets) it->second.names.insert(t.name());
      it->second.distinct.assign(it->second.names.begin(), it->second.names.end());
    }
    return it->second;
  }

  template <class Target>
  void reference(const ObjectMeta& from, const Field<std::string>& ref, const std::string& field,
                 const std::vector<Target>& targets, const char* target_kind, const char* article) {
    if (!ref.set && ref.value.empty()) return;  // missing: reported by decode
    NameIndex& index = index_of(targets);
    if (index.names.count(ref.value)) return;
    std::string expected = std::string("expected the name of ") + article + " " + target_kind;
    auto [guess, fresh] = index.guesses.try_emplace(ref.value);
    if (fresh && index.distinct.size() <= kMaxSuggestCandidates) guess->second = suggest(ref.value, index.distinct);
    if (index.distinct.empty()) {
      expected += "; none is declared";
    } else if (!guess->second.empty()) {
      expected += "; did you mean " + quote(guess->second) + "?";
    }
    error(from, ref.mark, field,
          std::string(target_kind) + " " + quote(ref.value) + " does not exist (" + expected + ")");
  }

  bool counts(const Network& n) const { return (n.subnet.set || n.implicit) && (!n.implicit || used(n)); }

  void overlap(const Network& n, const Network& o) {
    // Blame the network a user wrote, never the built-in one (it has no file);
    // of two user networks, the one declared later.
    bool n_later = o.implicit || (!n.implicit && later(n, o));
    const Network& at = n_later ? n : o;
    const Network& other = n_later ? o : n;
    error(at, at.subnet.mark, "spec.subnet",
          at.subnet.value.str() + " overlaps " + other.subnet.value.str() + " of " + place(other) +
              " (expected subnets that do not overlap)");
  }

  static bool later(const Network& a, const Network& b) {
    return std::tie(a.mark.file, a.mark.line, a.mark.column) > std::tie(b.mark.file, b.mark.line, b.mark.column);
  }

  void networks() {
    // Sorted by first address, a sweep finds every overlap in O(n log n):
    // each network is compared with the one reaching furthest before it.
    std::vector<const Network*> sorted;
    for (const Network& n : set_.networks) {
      if (counts(n)) sorted.push_back(&n);
    }
    std::stable_sort(sorted.begin(), sorted.end(), [](const Network* a, const Network* b) {
      return a->subnet.value.network() < b->subnet.value.network();
    });
    const Network* reach = nullptr;
    for (const Network* n : sorted) {
      if (reach && n->subnet.value.network() <= reach->subnet.value.broadcast()) overlap(*n, *reach);
      if (!reach || n->subnet.value.broadcast() > reach->subnet.value.broadcast()) reach = n;
    }
    std::map<std::string, const Network*> bridges;
    for (const Network& n : set_.networks) {
      if (!counts(n)) continue;
      auto [it, fresh] = bridges.emplace(n.bridge.value, &n);
      if (!fresh) {
        const Network& at = n.implicit ? *it->second : n;
        const Network& other = n.implicit ? n : *it->second;
        error(at, at.bridge.mark, "spec.bridge",
              quote(at.bridge.value) + " is also the bridge of " + place(other) +
                  " (expected a bridge of its own per network)");
      }
    }
  }

  bool used(const Network& n) const {
    for (const VM& v : set_.vms) {
      if (v.network.value == n.name()) return true;
    }
    return false;
  }

  void vm_addresses() {
    std::map<std::pair<std::string, uint32_t>, std::vector<const VM*>> taken;
    for (const VM& v : set_.vms) {
      if (!v.ip.set || !v.ip.value) continue;
      const Network* n = set_.find_network(v.network.value);
      if (!n || !n->subnet.set) continue;
      Ipv4 ip = *v.ip.value;
      const Cidr& c = n->subnet.value;
      std::string range = "expected an address from " + Ipv4{c.gateway().value + 1}.str() +
                          " to " + Ipv4{c.broadcast().value - 1}.str() + ")";
      if (!c.contains(ip)) {
        error(v, v.ip.mark, "spec.ip",
              ip.str() + " is outside subnet " + c.str() + " of " + place(*n) + " (" + range);
        continue;
      }
      const char* reserved = ip == c.network()     ? "network"
                             : ip == c.gateway()   ? "gateway"
                             : ip == c.broadcast() ? "broadcast"
                                                   : nullptr;
      if (reserved) {
        error(v, v.ip.mark, "spec.ip",
              ip.str() + " is the " + reserved + " address of " + place(*n) + " (" + range);
        continue;
      }
      // VMs that no node runs together may share an address (each host
      // has its own bridge): the first one that may share a node with v.
      std::vector<const VM*>& users = taken[std::pair{n->name(), ip.value}];
      auto other = std::find_if(users.begin(), users.end(),
                                [&](const VM* u) { return fleet_.may_share_node({&v.placement}, {&u->placement}); });
      if (other != users.end()) {
        error(v, v.ip.mark, "spec.ip",
              ip.str() + " is already used by " + resource_address(**other) + " at " + (*other)->ip.mark.str() +
                  " (expected a unique address per network)");
      }
      users.push_back(&v);
    }
  }

  void clash(const PortForward& p, const PortForward& o) {
    error(p, p.host_port.mark, "spec.hostPort",
          o.host_address.value.str() + ":" + std::to_string(o.host_port.value) + "/" +
              to_string(o.protocol.value) + " is already forwarded by " + resource_address(o) + " at " +
              o.host_port.mark.str() + " (expected one forward per host address, port and protocol)");
  }

  void forwards() {
    // By port and protocol, then by address: each forward is checked against
    // the first one that could clash, in the order they were declared.
    // 0.0.0.0 takes the port on every local address, so it clashes with any other.
    struct OnPort {
      const PortForward* first = nullptr;      ///< the first on this port, whatever its address
      const PortForward* first_any = nullptr;  ///< the first on 0.0.0.0
      std::map<uint32_t, const PortForward*> by_address;
    };
    std::map<std::pair<uint16_t, Protocol>, OnPort> by_port;
    const bool placed = fleet_.any_placement();
    std::map<std::pair<uint16_t, Protocol>, std::vector<const PortForward*>> on_port;  // with placements
    for (const PortForward& p : set_.port_forwards) {
      reference(p, p.vm, "spec.vm", set_.vms, "VM", "a");
      if (!p.host_port.set) continue;
      if (placed) {
        // Forwards that no node runs together may take the same port (each
        // host has its own): checked pair by pair, in declaration order.
        std::vector<const PortForward*>& before = on_port[{p.host_port.value, p.protocol.value}];
        const uint32_t a = p.host_address.value.value;
        auto o = std::find_if(before.begin(), before.end(), [&](const PortForward* q) {
          const uint32_t b = q->host_address.value.value;
          return (a == 0 || b == 0 || a == b) && fleet_.may_share_node(fleet_.constraints(p), fleet_.constraints(*q));
        });
        if (o != before.end()) clash(p, **o);
        before.push_back(&p);
        continue;
      }
      OnPort& on = by_port[{p.host_port.value, p.protocol.value}];
      const uint32_t a = p.host_address.value.value;
      const PortForward* o = nullptr;
      if (a == 0) {
        o = on.first;
      } else {
        auto same = on.by_address.find(a);
        const PortForward* s = same == on.by_address.end() ? nullptr : same->second;
        // Both point into set_.port_forwards: the lower address was declared first.
        o = !s ? on.first_any : !on.first_any ? s : std::min(s, on.first_any, std::less<>());
      }
      if (o) clash(p, *o);
      if (!on.first) on.first = &p;
      if (a == 0 && !on.first_any) on.first_any = &p;
      on.by_address.try_emplace(a, &p);
    }
  }

  void run() {
    unique_names(set_.networks);
    unique_names(set_.kernels);
    unique_names(set_.images);
    unique_names(set_.vms);
    unique_names(set_.port_forwards);
    for (const VM& v : set_.vms) {
      reference(v, v.kernel, "spec.kernel", set_.kernels, "Kernel", "a");
      reference(v, v.image, "spec.image", set_.images, "Image", "an");
      reference(v, v.network, "spec.network", set_.networks, "Network", "a");
    }
    networks();
    vm_addresses();
    forwards();
    fleet_.check(diags_);
  }

 private:
  const ManifestSet& set_;
  Diagnostics& diags_;
  FleetChecks fleet_;
  std::map<const void*, NameIndex> indexes_;  ///< by the vector of targets
};

}  // namespace

void complete_defaults(ManifestSet& set) {
  for (Network& n : set.networks) {
    if (!n.bridge.set) n.bridge.value = default_bridge_name(n.name());
  }
  if (!set.find_network(kDefaultNetwork)) {
    Network n;
    n.kind = Kind::Network;
    n.metadata.name = kDefaultNetwork;
    n.implicit = true;
    n.subnet.value = *parse_cidr(kDefaultSubnet);
    n.subnet.set = true;
    n.bridge.value = default_bridge_name(kDefaultNetwork);
    n.nat.value = true;
    set.networks.push_back(std::move(n));
  }
}

void validate_references(const ManifestSet& set, Diagnostics& diags) { Checker(set, diags).run(); }

namespace {
void check_artifact_file(const ObjectMeta& res, const ArtifactSource& s, const std::string& field,
                         const std::string& expected, Diagnostics& diags) {
  if (s.not_a_file) {
    diags.add(Diagnostic{s.path.mark, kind_name(res.kind), res.name(), field,
                         quote(s.resolved_path) + " is not a regular file (expected " + expected + ")"});
  } else if (s.dangling_link) {
    diags.add(Diagnostic{s.path.mark, kind_name(res.kind), res.name(), field,
                         quote(s.resolved_path) + " is a symlink to a file that does not exist (expected " +
                             expected + ")"});
  }
}
}  // namespace

void validate_disks(const ManifestSet& set, Diagnostics& diags) {
  for (const Image& img : set.images) check_artifact_file(img, img.source, "spec.path", "a disk image file", diags);
  for (const Kernel& k : set.kernels) {
    check_artifact_file(k, k.source, "spec.path", "a kernel image file", diags);
    if (k.initrd) check_artifact_file(k, *k.initrd, "spec.initrd.path", "an initrd file", diags);
  }
  for (const VM& v : set.vms) {
    const Image* img = set.find_image(v.image.value);
    if (!img || !img->source.known_size) continue;
    const uint64_t image_size = *img->source.known_size;
    const uint64_t size = v.disk_size.value;
    const std::string image = "Image/" + printable(img->name()) + " (" + format_size(image_size) + ", " +
                              img->source.resolved_path + ")";
    if (size != 0 && size < image_size) {
      diags.add(Diagnostic{v.disk_size.mark, kind_name(v.kind), v.name(), "spec.diskSize",
                           format_size(size) + " is smaller than " + image +
                               " (expected at least the image's size, or no diskSize)"});
    } else if (size > image_size && v.disk_strategy.value == DiskStrategy::Snapshot) {
      diags.add(Diagnostic{v.disk_size.mark, kind_name(v.kind), v.name(), "spec.diskSize",
                           format_size(size) + " is larger than " + image +
                               ", and a device-mapper snapshot is exactly as large as its image "
                               "(expected no diskSize with diskStrategy snapshot, or diskStrategy "
                               "reflink, copy or auto)"});
    }
  }
}

}  // namespace banger
