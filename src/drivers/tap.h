// Persistent taps for VMs (TUNSETIFF + TUNSETPERSIST), enslaved to their
// network's bridge and up. A tap that exists is never re-attached with
// TUNSETIFF (a running VM holds it: EBUSY); it is fixed through netlink.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "drivers/netlink.h"
#include "drivers/op_result.h"

namespace banger {

struct TapSpec {
  std::string name;    ///< "bg-<hash>", <= 15 bytes
  std::string bridge;  ///< must exist
  bool isolated = false;  ///< the bridge port's isolated flag (Network.spec.isolation)
};

class TapDriver {
 public:
  explicit TapDriver(Netlink& nl) : nl_(nl) {}
  OpResult ensure(const TapSpec& spec, const LinkSnapshot& seen);
  /// Deletes the tap; absent is success.
  void remove(const std::string& name);
  /// Deletes several taps in one kernel call. The kernel waits for an RCU
  /// barrier once per delete request (about 17 ms here, whatever the
  /// number of links): 100 taps took 1.7 s one by one and 64 ms as a
  /// group. Each tap is moved into a link group that no other link uses,
  /// and that group is deleted (RTM_DELLINK with IFLA_GROUP, as `ip link
  /// delete group N`). Returns the taps that could not be deleted, each
  /// with its error; absent ones are success, a link that is not a tap
  /// is refused and left alone.
  std::map<std::string, std::string> remove_many(const std::vector<std::string>& names);

 private:
  Netlink& nl_;
};

/// Deterministic tap name for a VM: "bg-" + 12 hex digits of a hash of the
/// VM's name, so it fits IFNAMSIZ and never collides with a bridge "bg-<net>"
/// in practice.
std::string tap_name_for(const std::string& vm_name);

}  // namespace banger
