// Before each start of a VM: its pinned SSH host key, the files written into
// its disk and its NoCloud seed (spec.guest). All of it lives in the VM's
// folder in the state dir, which is removed with the VM's disk, so a
// replaced VM gets new keys and its old known_hosts entry goes with it.
#pragma once

#include <string>
#include <vector>

#include "resources/model.h"
#include "state/records/vm_record.h"

namespace banger {

/// The VM's known_hosts (one "NAME ssh-ed25519 ..." line once banger made a
/// key; entries ssh learns on first use otherwise): what `banger ssh` pins.
std::string known_hosts_file(const std::string& vm_dir);
/// The public half of the host key banger made for the VM; "" when none.
std::string pinned_host_key(const std::string& vm_dir);

struct PreparedGuest {
  std::string seed_path;              ///< "" when no seed is attached
  bool files_written = false;         ///< hostname, keys and host key went into the disk
  bool host_key_pinned = false;       ///< the guest was given banger's host key
  std::vector<std::string> warnings;  ///< what was skipped, and why
};

/// Nothing for a VM without spec.guest or with inject: none. Otherwise makes
/// the host key when the VM has none, writes the guest's files into
/// `rec.disk_path` (inject files, or auto on an ext disk) and builds the
/// seed (inject cloud-init or auto). Throws HostError naming the VM and
/// the field when spec.guest cannot be carried out (files on a non-ext4
/// image, a login user missing from a files-only image).
PreparedGuest prepare_guest(const VM& vm, const VmRecord& rec, const Network& net, const std::string& vm_dir);

}  // namespace banger
