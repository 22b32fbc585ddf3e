// Checking a git commit's SSH signature (git's gpg.format=ssh) against an
// allowed_signers file, as `git verify-commit` does: with OpenSSH's own
// `ssh-keygen -Y find-principals` and `-Y verify` (namespace "git").
#pragma once

#include <string>

namespace banger {

/// The principal of `allowed_signers` whose key made `signature` over
/// `data`. Throws HostError saying why not (no such signer, a bad
/// signature, an OpenPGP signature, ssh-keygen missing).
std::string verify_ssh_signature(const std::string& allowed_signers, const std::string& signature,
                                 const std::string& data, const std::string& scratch_dir);

}  // namespace banger
