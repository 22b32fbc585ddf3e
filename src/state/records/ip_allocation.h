#pragma once

#include <string>

#include "state/record_schema.h"

namespace banger {

/// A VM's address on a network, kept for as long as the VM exists.
struct IpAllocation {
  std::string network;
  std::string ip;
  std::string vm;

  static constexpr const char* kTable = "ip_allocations";
  static constexpr auto columns() {
    return std::tuple{column("network", "network", &IpAllocation::network),
                      column("ip", "ip", &IpAllocation::ip),
                      column("vm", "vm", &IpAllocation::vm)};
  }
};

}  // namespace banger
