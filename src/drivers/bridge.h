// Bridges banger owns: created with a fixed MAC, the gateway address, up;
// optionally route_localnet (needed for hostAddress 127.0.0.1 forwards).
#pragma once

#include <string>

#include "drivers/netlink.h"
#include "drivers/op_result.h"
#include "resources/netaddr.h"

namespace banger {

struct BridgeSpec {
  std::string name;     ///< <= 15 bytes
  Cidr gateway;         ///< e.g. 10.42.0.1/24: the bridge's own address
  bool route_localnet = false;
};

class BridgeDriver {
 public:
  explicit BridgeDriver(Netlink& nl) : nl_(nl) {}
  /// Creates or fixes the bridge (exists, is a bridge, has exactly the gateway
  /// address among IPv4 addresses, is up, sysctl as asked). Throws HostError,
  /// e.g. when a non-bridge link already has the name.
  OpResult ensure(const BridgeSpec& spec, const LinkSnapshot& seen);
  /// Deletes the bridge; absent is success.
  void remove(const std::string& name);

 private:
  Netlink& nl_;
};

}  // namespace banger
