#include "reconciler/guest_prepare.h"

#include "reconciler/dns_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

#include "common/host_error.h"
#include "common/read_file.h"
#include "common/unique_fd.h"
#include "drivers/ext4_files.h"
#include "drivers/ssh_host_key.h"
#include "drivers/vfat_image.h"
#include "reconciler/guest_seed.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

const char* kPrivate = "ssh_host_ed25519_key";
const char* kPublic = "ssh_host_ed25519_key.pub";
const char* kDropbear = "dropbear_ed25519_host_key";

// Written to a temporary name, synced and renamed: a crash leaves the old
// file or the new one, never half of either.
void write_file(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw HostError::from_errno("creating " + tmp, errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      throw HostError::from_errno("writing " + tmp, e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw HostError::from_errno("writing " + path, e);
  }
}

std::string read_or_empty(const std::string& path) { return read_small_file(path).value_or(""); }

struct KeyState {
  SshHostKey key;        ///< private halves empty when they were given away already
  bool private_known = false;
};

// The VM's host key: made once per VM (per disk), kept as its public half
// and, while a seed may need it again, its private halves (0600).
KeyState ensure_host_key(const VM& vm, const std::string& dir) {
  KeyState s;
  s.key.public_line = pinned_host_key(dir);
  if (s.key.public_line.empty()) {
    s.key = generate_ssh_host_key("banger-" + vm.name());
    // Private halves first: a crash before the public half is written
    // makes a new pair next time, never a pin without its key.
    write_file(dir + "/" + kPrivate, s.key.openssh_private, 0600);
    write_file(dir + "/" + kDropbear, s.key.dropbear_private, 0600);
    write_file(dir + "/" + kPublic, s.key.public_line + "\n", 0644);
    write_file(known_hosts_file(dir), known_hosts_line(vm.name(), s.key) + "\n", 0644);
    s.private_known = true;
    return s;
  }
  s.key.openssh_private = read_or_empty(dir + "/" + kPrivate);
  s.key.dropbear_private = read_or_empty(dir + "/" + kDropbear);
  s.private_known = !s.key.openssh_private.empty() && !s.key.dropbear_private.empty();
  return s;
}

struct Account {
  uint32_t uid = 0, gid = 0;
  std::string home;
};

// The user's entry in the guest's /etc/passwd.
std::optional<Account> guest_account(const std::string& disk, const std::string& user) {
  auto passwd = read_guest_file(disk, "/etc/passwd");
  if (passwd) {
    std::istringstream in(*passwd);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      std::string part;
      while (std::getline(ls, part, ':')) f.push_back(part);
      if (f.size() < 6 || f[0] != user) continue;
      try {
        return Account{static_cast<uint32_t>(std::stoul(f[2])), static_cast<uint32_t>(std::stoul(f[3])), f[5]};
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  // An image without a passwd entry for root still has root's home.
  if (user == "root") return Account{0, 0, "/root"};
  return std::nullopt;
}

// Files mode: hostname, login keys and host key straight into the disk.
void write_files(const VM& vm, const std::string& disk, const KeyState& keys, bool files_only,
                 PreparedGuest& out) {
  const std::string where = "VM/" + vm.name() + ": spec.guest";
  if (needs_journal_recovery(disk)) {
    // The guest stopped without unmounting; its next boot replays the
    // journal. Writing under it would be undone, so this boot goes without.
    out.warnings.push_back(where + ": the disk's journal needs recovery (the guest stopped uncleanly); its files "
                                   "are written at the next start");
    return;
  }
  std::vector<GuestDir> dirs;
  std::vector<GuestFile> files{{"/etc/hostname", vm.hostname() + "\n", 0644, 0, 0}};
  const std::vector<std::string> login = vm.guest.keys();
  if (!login.empty()) {
    auto acct = guest_account(disk, vm.ssh_user());
    if (!acct) {
      if (files_only) {
        throw HostError(where + ".ssh.user: user " + quote(vm.ssh_user()) +
                            " is not in the image's /etc/passwd (inject: files cannot create users; name a user the "
                            "image has, or use a cloud-init image)",
                        ErrorCode::Invalid);
      }
      out.warnings.push_back(where + ".ssh.user: " + quote(vm.ssh_user()) +
                             " is not in the image's /etc/passwd; its keys are left to cloud-init");
    } else if (acct->home.empty() || acct->home[0] != '/') {
      out.warnings.push_back(where + ".ssh.user: " + quote(vm.ssh_user()) + " has no absolute home folder");
    } else {
      std::string all;
      for (const auto& k : login) all += k + "\n";
      const std::string ssh_dir = (acct->home == "/" ? "" : acct->home) + "/.ssh";
      dirs.push_back({ssh_dir, 0700, acct->uid, acct->gid});
      files.push_back({ssh_dir + "/authorized_keys", all, 0600, acct->uid, acct->gid});
    }
  }
  if (keys.private_known) {
    files.push_back({"/etc/ssh/ssh_host_ed25519_key", keys.key.openssh_private, 0600, 0, 0});
    files.push_back({"/etc/ssh/ssh_host_ed25519_key.pub", keys.key.public_line + "\n", 0644, 0, 0});
    files.push_back({"/etc/dropbear/dropbear_ed25519_host_key", keys.key.dropbear_private, 0600, 0, 0});
    out.host_key_pinned = true;
  }
  write_guest_files(disk, dirs, files);
  out.files_written = true;
}

GuestBoot boot_of(const VM& vm, const VmRecord& rec, const Network& net, const KeyState& keys) {
  GuestBoot g;
  g.vm = vm.name();
  g.hostname = vm.hostname();
  g.user = vm.ssh_user();
  g.keys = vm.guest.keys();
  g.user_data = vm.guest.user_data_text();
  g.host_public = keys.private_known ? keys.key.public_line : "";
  g.host_private = keys.private_known ? keys.key.openssh_private : "";
  g.ip = rec.ip;
  g.prefix = net.subnet.value.prefix;
  g.gateway = net.subnet.value.gateway().str();
  g.nameserver = vm_nameserver(net);
  if (!g.nameserver.empty()) g.search = net.dns.domain;
  g.mac = rec.mac;
  return g;
}

}  // namespace

std::string known_hosts_file(const std::string& vm_dir) { return vm_dir + "/known_hosts"; }

std::string pinned_host_key(const std::string& vm_dir) {
  std::string k = read_or_empty(vm_dir + "/" + kPublic);
  while (!k.empty() && k.back() == '\n') k.pop_back();
  return k;
}

PreparedGuest prepare_guest(const VM& vm, const VmRecord& rec, const Network& net, const std::string& vm_dir) {
  PreparedGuest out;
  // A VM without spec.guest is left as its image made it: no writes into
  // its disk, no extra drive (and `banger ssh` trusts its key on first use).
  const GuestInject mode = !vm.guest.set        ? GuestInject::None
                           : vm.guest.inject.set ? vm.guest.inject.value
                                                 : GuestInject::Auto;
  if (mode == GuestInject::None) {
    ::unlink((vm_dir + "/seed.img").c_str());  // one an earlier spec.guest made
    return out;
  }
  const bool want_seed = mode == GuestInject::Auto || mode == GuestInject::CloudInit;
  KeyState keys = ensure_host_key(vm, vm_dir);
  const bool ext = is_ext_filesystem(rec.disk_path);
  if (mode == GuestInject::Files && !ext) {
    throw HostError("VM/" + vm.name() + ": spec.guest.inject: files needs an ext4 image, and the disk " +
                        rec.disk_path + " is not one (use inject: cloud-init for a cloud image, or none)",
                    ErrorCode::Invalid);
  }
  if ((mode == GuestInject::Files || mode == GuestInject::Auto) && ext) {
    write_files(vm, rec.disk_path, keys, mode == GuestInject::Files, out);
  }
  if (want_seed) {
    GuestBoot g = boot_of(vm, rec, net, keys);
    std::vector<VfatFile> files;
    try {
      files = {{"meta-data", nocloud_meta_data(g)},
               {"user-data", nocloud_user_data(g)},
               {"network-config", nocloud_network_config(g)}};
    } catch (const std::invalid_argument& e) {
      throw HostError("VM/" + vm.name() + ": spec.guest.userData: " + e.what(), ErrorCode::Invalid);
    }
    out.seed_path = vm_dir + "/seed.img";
    write_file(out.seed_path, make_vfat_image("cidata", files), 0600);
    if (keys.private_known) out.host_key_pinned = true;
  } else if (keys.private_known && out.files_written) {
    // Given to the disk and needed by no seed: the private halves go.
    ::unlink((vm_dir + "/" + kPrivate).c_str());
    ::unlink((vm_dir + "/" + kDropbear).c_str());
  }
  if (!want_seed) ::unlink((vm_dir + "/seed.img").c_str());
  return out;
}

}  // namespace banger
