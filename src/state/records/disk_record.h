#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// A VM's root disk as made: the method (what `diskStrategy: auto` chose is
/// kept, so it never changes silently), its size, and for a device-mapper
/// snapshot the image under its shared read-only loop device and its COW file.
struct DiskRecord {
  std::string vm;
  std::string method;  ///< "reflink", "copy", "snapshot"
  int64_t size = 0;    ///< bytes
  std::string image;   ///< the image file the disk was made from
  std::string cow;     ///< snapshot: the copy-on-write file; "" otherwise

  static constexpr const char* kTable = "vm_disks";
  static constexpr auto columns() {
    return std::tuple{column("vm", "vm", &DiskRecord::vm),
                      column("method", "method", &DiskRecord::method),
                      column("size", "size", &DiskRecord::size),
                      column("image", "image", &DiskRecord::image),
                      column("cow", "cow", &DiskRecord::cow)};
  }
};

}  // namespace banger
