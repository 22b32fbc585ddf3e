// Reads the files spec.guest names (login keys, user-data) at load time, so
// that validate refuses a missing or malformed one with the manifest's file
// and line, before anything on the host changes.
#include "resources/guest_files.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "resources/fields_guest.h"
#include "resources/loader.h"
#include "resources/ssh_public_key.h"

namespace banger {

namespace {

constexpr size_t kMaxGuestFile = 64 * 1024;  // a key file or user-data, never an image

std::optional<std::string> read_text(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot be read";
    return std::nullopt;
  }
  std::string text(kMaxGuestFile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    why = "cannot be read (is it a folder?)";
    return std::nullopt;
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxGuestFile) {
    why = "is larger than 64 KiB";
    return std::nullopt;
  }
  return text;
}

// Under `watch`, a repository anyone can push to must not make banger read
// host files into a guest: paths, symlinks resolved, stay inside the folder.
void load_vm(VM& vm, Diagnostics& diags, const std::string& within) {
  Guest& g = vm.guest;
  auto fail = [&](const Mark& at, const std::string& field, const std::string& message) {
    diags.add(Diagnostic{at, "VM", vm.name(), field, message});
  };
  auto refused = [&](const GuestFileRef& f, const std::string& field) {
    if (within.empty() || !outside_folder(f.resolved_path, within)) return false;
    fail(f.path.mark, field,
         f.resolved_path + " is outside the watched folder " + within +
             "; refused (put the file in the folder, or the key inline)");
    return true;
  };
  for (size_t i = 0; i < g.authorized_keys_files.size(); ++i) {
    const GuestFileRef& f = g.authorized_keys_files[i];
    const std::string field = "spec.guest.ssh.authorizedKeysFiles[" + std::to_string(i) + "]";
    if (refused(f, field)) continue;
    std::string why;
    auto text = read_text(f.resolved_path, why);
    if (!text) {
      fail(f.path.mark, field, f.resolved_path + " " + why + " (expected a public key file such as ~/.ssh/id_ed25519.pub)");
      continue;
    }
    SshKeyFile parsed = parse_ssh_public_keys(*text);
    if (parsed.error) {
      // A reason that quotes the line is not repeated: the file may be
      // something else entirely (a passwd or shadow file named by mistake).
      const std::string& why_line = parsed.error->why;
      fail(f.path.mark, field,
           f.resolved_path + " line " + std::to_string(parsed.error->line) + ": " +
               (why_line.find('"') == std::string::npos ? why_line : "is not an OpenSSH public key") +
               " (expected OpenSSH public keys, one per line)");
      continue;
    }
    if (parsed.keys.empty()) {
      fail(f.path.mark, field, f.resolved_path + " holds no key (expected OpenSSH public keys, one per line)");
      continue;
    }
    for (const SshPublicKey& k : parsed.keys) g.file_keys.push_back({k.line(), f.path.mark});
  }
  if (g.user_data_file.path.set && !refused(g.user_data_file, "spec.guest.userDataFile")) {
    std::string why;
    auto text = read_text(g.user_data_file.resolved_path, why);
    if (!text) {
      fail(g.user_data_file.path.mark, "spec.guest.userDataFile",
           g.user_data_file.resolved_path + " " + why + " (expected a cloud-init user-data file of at most 16 KiB)");
    } else if (text->size() > 16 * 1024) {
      fail(g.user_data_file.path.mark, "spec.guest.userDataFile",
           g.user_data_file.resolved_path + " is " + std::to_string(text->size()) +
               " bytes (expected a cloud-init user-data file of at most 16 KiB)");
    } else if (std::string bad = user_data_problem(*text); !bad.empty()) {
      fail(g.user_data_file.path.mark, "spec.guest.userDataFile",
           g.user_data_file.resolved_path + " " + bad + " (expected cloud-init user-data starting with #cloud-config or #!)");
    } else {
      g.user_data_from_file = std::move(*text);
    }
  }
}

}  // namespace

void load_guest_files(ManifestSet& set, Diagnostics& diags, const std::string& within) {
  for (VM& vm : set.vms) load_vm(vm, diags, within);
}

std::string invoking_user_home() {
  // sudo resets HOME to root's; "~" in a manifest still means the user's own.
  const char* sudo_user = std::getenv("SUDO_USER");
  if (::geteuid() == 0 && sudo_user && *sudo_user) {
    if (const passwd* pw = ::getpwnam(sudo_user); pw && pw->pw_dir) return pw->pw_dir;
  }
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

}  // namespace banger
