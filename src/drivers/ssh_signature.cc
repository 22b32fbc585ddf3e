#include "drivers/ssh_signature.h"

#include <unistd.h>

#include <filesystem>

#include "common/host_error.h"
#include "common/write_file.h"
#include "drivers/process.h"

namespace banger {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ssh_keygen() {
  for (const char* p : {"/usr/bin/ssh-keygen", "/bin/ssh-keygen", "/usr/local/bin/ssh-keygen"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  throw HostError("--git-verify needs ssh-keygen (apt-get install openssh-client)", ErrorCode::NotFound);
}

}  // namespace

std::string verify_ssh_signature(const std::string& allowed_signers, const std::string& signature,
                                 const std::string& data, const std::string& scratch_dir) {
  if (signature.find("-----BEGIN SSH SIGNATURE-----") == std::string::npos)
    throw HostError("is signed, but not with an SSH key (--git-verify checks SSH signatures: gpg.format=ssh)",
                    ErrorCode::Invalid);
  const std::string tool = ssh_keygen();
  const std::string sig = scratch_dir + "/commit.sig", msg = scratch_dir + "/commit.data";
  write_file_atomically(sig, signature);
  write_file_atomically(msg, data);
  struct Cleanup {
    std::string a, b;
    ~Cleanup() { ::unlink(a.c_str()), ::unlink(b.c_str()); }
  } cleanup{sig, msg};
  ToolRun who = run_tool({tool, "-Y", "find-principals", "-f", allowed_signers, "-s", sig});
  const std::string principal = trimmed(who.output.substr(0, who.output.find('\n')));
  if (who.exit_code != 0 || principal.empty())
    throw HostError("is signed by a key that " + allowed_signers + " does not list", ErrorCode::Invalid);
  ToolRun check =
      run_tool({tool, "-Y", "verify", "-f", allowed_signers, "-I", principal, "-n", "git", "-s", sig}, msg);
  if (check.exit_code != 0)
    throw HostError("has a signature that does not verify: " + trimmed(check.output), ErrorCode::Invalid);
  return principal;
}

}  // namespace banger
