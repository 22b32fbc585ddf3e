// SSH host keys that banger makes for a guest, so that the host can pin the
// key before the first boot instead of trusting whatever answers first
// (OpenSSH and Dropbear read different private key formats, and an image may
// run either, so both are produced).
#pragma once

#include <string>
#include <string_view>

namespace banger {

struct SshHostKey {
  std::string public_line;       ///< "ssh-ed25519 AAAA... COMMENT", as in a .pub file
  std::string openssh_private;   ///< /etc/ssh/ssh_host_ed25519_key text; write it mode 0600
  std::string dropbear_private;  ///< /etc/dropbear/dropbear_ed25519_host_key, 83 binary bytes

  SshHostKey() = default;
  SshHostKey(const SshHostKey&) = default;
  SshHostKey(SshHostKey&&) noexcept = default;
  SshHostKey& operator=(const SshHostKey&) = default;
  SshHostKey& operator=(SshHostKey&&) noexcept = default;
  /// Wipes the private keys, so that a freed buffer does not keep them.
  ~SshHostKey();
};

/// A fresh ed25519 key from libcrypto. `comment` goes into the public line
/// and the OpenSSH file (it must be one line). Throws HostError when
/// libcrypto is missing or fails.
SshHostKey generate_ssh_host_key(std::string_view comment);

/// "ALIAS ssh-ed25519 AAAA..." for a UserKnownHostsFile read with
/// `-o HostKeyAlias=ALIAS`: plain, since the file names VMs, not secrets.
/// Throws HostError(Invalid) for an alias that known_hosts would read as a
/// pattern, a list, a marker or a hashed name.
std::string known_hosts_line(std::string_view alias, const SshHostKey& key);

}  // namespace banger
