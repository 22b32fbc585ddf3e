// What the manifests ask for, as diffable specs plus the typed resources the
// actions need. Pure: built from a validated ManifestSet. A spec's fields are
// the values each kind's field table shows (field_table.h), in table order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reconciler/spec.h"
#include "resources/field_table.h"
#include "resources/model.h"

namespace banger {

struct DesiredState {
  ManifestSet set;                  ///< validated manifests, defaults filled in
  std::vector<ResourceSpec> specs;  ///< one per resource (the built-in network only when used)

  const ResourceSpec* find(const ResourceKey& key) const;
  void build_index();  ///< once specs are final; make_desired does

 private:
  PositionIndex index_;
};

/// Takes the set by value: callers done with theirs move it in.
DesiredState make_desired(ManifestSet manifests);

/// The kernel command line a VM boots with: the Kernel's args, the VM's
/// kernelArgs, then the kernel's own `ip=` (client::gateway:netmask:hostname:
/// eth0:off) so the guest configures eth0 without DHCP.
/// The kernel's command line: kernel and VM args, then ip= (the kernel's own
/// syntax, Documentation/admin-guide/nfs/nfsroot.rst) with the gateway and,
/// when the network serves DNS, its address as dns0.
std::string boot_args(const Kernel& kernel, const VM& vm, Ipv4 ip, const Cidr& subnet,
                      const std::string& nameserver = "");

/// Locally administered unicast MAC that encodes the IPv4 address
/// (06:00:AC:14:00:0A for 172.20.0.10), as Firecracker's examples do.
std::string mac_for(Ipv4 ip);

}  // namespace banger
