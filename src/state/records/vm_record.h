#pragma once

#include <string>

#include "state/record_schema.h"

namespace banger {

/// What a VM keeps across restarts and re-applies.
struct VmRecord {
  std::string name;
  std::string network;
  std::string ip;
  std::string mac;
  std::string tap;
  std::string disk_path;

  static constexpr const char* kTable = "vms";
  static constexpr auto columns() {
    return std::tuple{column("name", "name", &VmRecord::name),
                      column("network", "network", &VmRecord::network),
                      column("ip", "ip", &VmRecord::ip),
                      column("mac", "mac", &VmRecord::mac),
                      column("tap", "tap", &VmRecord::tap),
                      column("disk_path", "diskPath", &VmRecord::disk_path)};
  }
};

}  // namespace banger
