// What a VM's guest is told at boot, as text: the NoCloud seed's files for
// cloud-init images, and the files written straight into other images.
// Pure: the caller reads keys and writes disks.
#pragma once

#include <string>
#include <vector>

#include "resources/model.h"

namespace banger {

struct GuestBoot {
  std::string vm;               ///< the VM's name
  std::string hostname;
  std::string user;             ///< ssh.user
  std::vector<std::string> keys;  ///< login keys, one line each
  std::string user_data;        ///< the manifest's own user-data, "" = none
  std::string host_public;      ///< "ssh-ed25519 AAAA..." ("" = none to give)
  std::string host_private;     ///< OpenSSH format ("" = none to give)
  std::string ip;               ///< "10.42.0.11"
  int prefix = 24;
  std::string gateway;
  std::string mac;              ///< "06:00:0A:2A:00:0B"
  std::string nameserver;       ///< the network's DNS server ("" = none)
  std::string search;           ///< its domain, searched for short names
};

/// Changes whenever anything the guest is given changes, so that cloud-init
/// runs its per-instance modules again (new keys, new hostname).
std::string instance_id(const GuestBoot& g);

std::string nocloud_meta_data(const GuestBoot& g);
/// Network config version 2: eth0 by MAC, the static address and default route.
std::string nocloud_network_config(const GuestBoot& g);
/// banger's #cloud-config (hostname, keys for ssh.user, host key), merged
/// with the manifest's: a #cloud-config's own top-level keys win; a script
/// or other part goes beside it in a MIME multipart. Throws
/// std::invalid_argument when the user's #cloud-config is not a YAML mapping.
std::string nocloud_user_data(const GuestBoot& g);

}  // namespace banger
