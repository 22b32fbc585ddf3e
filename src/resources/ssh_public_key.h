// OpenSSH public keys as users hand them to banger: one "TYPE BASE64
// [COMMENT]" line of a .pub or authorized_keys file. The key data is checked
// field by field, because a guest's sshd that rejects a key says so only in
// its own log, after the VM has booted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

struct SshPublicKey {
  std::string type;     ///< "ssh-ed25519", "ssh-rsa", ...
  std::string blob;     ///< the decoded key data (binary)
  std::string comment;  ///< may be empty; may contain spaces
  /// "type base64 comment" (no trailing space without a comment).
  std::string line() const;
};

/// The key types a current OpenSSH accepts, in the order error messages list them.
const std::vector<std::string_view>& ssh_key_types();

/// Surrounding whitespace (a trailing newline included) is ignored. On
/// failure returns nullopt and sets `why` to a short reason for the user,
/// e.g. "key data is not base64" or "looks like a private key; give the .pub file".
std::optional<SshPublicKey> parse_ssh_public_key(std::string_view line, std::string& why);

struct SshKeyFileError {
  size_t line = 0;  ///< 1-based
  std::string why;
};

struct SshKeyFile {
  std::vector<SshPublicKey> keys;
  std::optional<SshKeyFileError> error;  ///< the first bad line; keys then holds those before it
};

/// A whole .pub or authorized_keys text: blank lines and '#' lines are
/// skipped, every other line must be a key. An empty result is not an error
/// here; callers that need a key say so.
SshKeyFile parse_ssh_public_keys(std::string_view text);

}  // namespace banger
