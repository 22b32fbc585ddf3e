#pragma once

#include <string>

#include "state/record_schema.h"

namespace banger {

/// A host object banger made (or is about to make): recorded before it is
/// created, forgotten after it is removed, so nothing is ever leaked.
struct OwnedObject {
  std::string type;   ///< "bridge", "tap", "disk", "rundir", "nft-table"
  std::string id;     ///< interface name, path, ...
  std::string owner;  ///< "VM/web-1", "Network/fleet"

  static constexpr const char* kTable = "owned";
  static constexpr auto columns() {
    return std::tuple{column("type", "type", &OwnedObject::type),
                      column("id", "id", &OwnedObject::id),
                      column("owner", "owner", &OwnedObject::owner)};
  }
};

}  // namespace banger
