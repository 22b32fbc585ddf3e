// Persistent taps for VMs (TUNSETIFF + TUNSETPERSIST), enslaved to their
// network's bridge and up. A tap that exists is never re-attached with
// TUNSETIFF (a running VM holds it: EBUSY); it is fixed through netlink.
#pragma once

#include <string>

#include "drivers/netlink.h"
#include "drivers/op_result.h"

namespace banger {

struct TapSpec {
  std::string name;    ///< "bg-<hash>", <= 15 bytes
  std::string bridge;  ///< must exist
};

class TapDriver {
 public:
  explicit TapDriver(Netlink& nl) : nl_(nl) {}
  OpResult ensure(const TapSpec& spec, const LinkSnapshot& seen);
  /// Deletes the tap; absent is success.
  void remove(const std::string& name);

 private:
  Netlink& nl_;
};

/// Deterministic tap name for a VM: "bg-" + 12 hex digits of a hash of the
/// VM's name, so it fits IFNAMSIZ and never collides with a bridge "bg-<net>"
/// in practice.
std::string tap_name_for(const std::string& vm_name);

}  // namespace banger
