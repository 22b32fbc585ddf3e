#include "drivers/tap.h"

#include <optional>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <set>

#include "common/host_error.h"
#include "drivers/netlink_link.h"
#include "common/unique_fd.h"
#include "resources/names.h"

namespace banger {

namespace {


using nl::absent;
using nl::fail;
using nl::get_link;
using nl::LinkPtr;
using nl::type_of;

// The kernel would cut a longer name (strncpy into ifr_name) and banger would
// then manage a link whose name it does not know.
void check_name(const std::string& what, const std::string& name) {
  if (!is_interface_name(name)) {
    throw HostError(what + " \"" + name +
                    "\": not a valid interface name (1..15 of [A-Za-z0-9_.-]; the kernel "
                    "would truncate a longer one)",
                    ErrorCode::Invalid);
  }
}

[[noreturn]] void refuse_foreign(const std::string& name, const std::string& what) {
  throw HostError("tap " + name + ": a link of that name exists and is " + what +
                  "; banger will not touch it. Rename or delete that link",
                  ErrorCode::Conflict);
}

// libnl does not decode tun details; the hardware type tells a layer-2 tap
// (Ethernet) from a layer-3 tun, and only a tap can join a bridge.
void check_is_tap(rtnl_link* l, const std::string& name) {
  std::string type = type_of(l);
  if (type != "tun") refuse_foreign(name, type.empty() ? "not a tap" : "a " + type + ", not a tap");
  if (rtnl_link_get_arptype(l) != ARPHRD_ETHER) refuse_foreign(name, "a layer-3 tun, not a tap");
}

/// Creates a persistent tap; returns false when a link of that name already
/// exists (then it is fixed through netlink like any other existing tap).
bool create_tap(const std::string& name) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    throw HostError(errno_message("tap " + name + ": cannot open /dev/net/tun", e) +
                    (e == ENOENT                 ? " (load the tun module: modprobe tun)"
                     : e == EACCES || e == EPERM ? " (banger needs root)"
                                                 : ""), code_of_errno(e));
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());  // checked: <= 15 bytes
  // No IFF_MULTI_QUEUE (Firecracker attaches single-queue and the mode must
  // match); no IFF_VNET_HDR (Firecracker sets it on its own fd). IFF_TUN_EXCL
  // makes an existing device fail with EBUSY instead of being attached: an
  // attach would steal nothing here, but it would fail on a tap a running VM
  // holds, and a non-tun link of that name must be reported, not poked.
  ifr.ifr_flags =
      static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);  // 0x8000: sign bit of short
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    int e = errno;
    if (e == EBUSY) return false;
    throw HostError(errno_message("tap " + name + ": cannot create it (TUNSETIFF)", e) +
                    (e == EPERM ? " (banger needs root or CAP_NET_ADMIN)" : ""), code_of_errno(e));
  }
  // Persistent: the tap outlives this fd and waits for the VM to attach.
  // Should this fail, closing the fd removes the half-made tap.
  if (::ioctl(fd.get(), TUNSETPERSIST, 1) < 0) {
    int e = errno;
    throw HostError(
        errno_message("tap " + name + ": cannot make it persistent (TUNSETPERSIST)", e));
  }
  return true;
}

bool seen_is_right(const LinkState& tap, const LinkSnapshot& seen, const TapSpec& spec) {
  const LinkState* br = seen.find(spec.bridge);
  return tap.type == "tun" && tap.up && br && br->type == "bridge" && tap.master == br->ifindex &&
         tap.isolated == spec.isolated;
}

}  // namespace

OpResult TapDriver::ensure(const TapSpec& spec, const LinkSnapshot& seen) {
  check_name("tap", spec.name);
  check_name("bridge of tap " + spec.name + ":", spec.bridge);
  nl_sock* sk = nl_.sock();
  const LinkState* was = seen.find(spec.name);
  if (was) {
    if (was->type != "tun") {
      refuse_foreign(spec.name, was->type.empty() ? "not a tap" : "a " + was->type + ", not a tap");
    }
    if (seen_is_right(*was, seen, spec)) return OpResult::Unchanged;
  }

  // The bridge first: a tap made for a missing bridge would only be a leak.
  LinkPtr bridge = get_link(sk, spec.bridge);
  if (!bridge) {
    throw HostError("tap " + spec.name + ": bridge " + spec.bridge +
                    " does not exist; its Network must be applied first",
                    ErrorCode::NotFound);
  }
  if (type_of(bridge.get()) != "bridge") {
    throw HostError("tap " + spec.name + ": " + spec.bridge + " is not a bridge (it is " +
                    (type_of(bridge.get()).empty() ? "a device without a link kind"
                                                   : "a " + type_of(bridge.get())) +
                    "); cannot enslave the tap to it");
  }

  // From here on the kernel's state decides, not the (possibly stale) snapshot.
  bool created = false;
  LinkPtr tap;
  if (was) tap = get_link(sk, spec.name);
  if (!tap) {
    created = create_tap(spec.name);
    if (created) {
      // Just made, down and on no bridge: one request attaches it and brings
      // it up (no read-back; the kernel finds it by name). Per tap this
      // halves the netlink round trips, made one tap at a time under the
      // reconciler's link lock.
      int br_index = rtnl_link_get_ifindex(bridge.get());
      LinkPtr orig(rtnl_link_alloc()), change(rtnl_link_alloc());
      if (!orig || !change) throw HostError("tap " + spec.name + ": out of memory");
      // The name only in `change`: libnl then sends it as IFLA_IFNAME with
      // index 0, which is how the kernel finds a link by name.
      rtnl_link_set_name(change.get(), spec.name.c_str());
      rtnl_link_set_master(change.get(), br_index);
      rtnl_link_set_flags(change.get(), IFF_UP);
      int err = rtnl_link_change(sk, orig.get(), change.get(), 0);
      if (err < 0)
        fail("netlink: cannot attach new tap " + spec.name + " to bridge " + spec.bridge + " and bring it up",
             err);
      if (spec.isolated) {
        LinkPtr made = get_link(sk, spec.name);
        if (!made) throw HostError("tap " + spec.name + " disappeared right after it was created");
        nl_.set_port_isolated(rtnl_link_get_ifindex(made.get()), true, spec.name);
      }
      return OpResult::Created;
    }
    tap = get_link(sk, spec.name);
    if (!tap) {
      throw HostError("tap " + spec.name +
                      " disappeared right after it was created; is another program "
                      "managing links of that name?");
    }
  }
  check_is_tap(tap.get(), spec.name);

  // An existing tap is never re-attached with TUNSETIFF: a running VM holds
  // it (EBUSY). Netlink changes the master and flags under the VM's feet.
  bool changed = false;
  int br_index = rtnl_link_get_ifindex(bridge.get());
  if (rtnl_link_get_master(tap.get()) != br_index) {
    int err = rtnl_link_enslave_ifindex(sk, br_index, rtnl_link_get_ifindex(tap.get()));
    if (err < 0) fail("netlink: cannot attach tap " + spec.name + " to bridge " + spec.bridge, err);
    changed = true;
  }
  if (!(rtnl_link_get_flags(tap.get()) & IFF_UP)) {
    LinkPtr change(rtnl_link_alloc());
    if (!change) throw HostError("tap " + spec.name + ": out of memory");
    rtnl_link_set_flags(change.get(), IFF_UP);
    int err = rtnl_link_change(sk, tap.get(), change.get(), 0);
    if (err < 0) fail("netlink: cannot bring tap " + spec.name + " up", err);
    changed = true;
  }
  // The isolated flag as the dump saw it; after a change above it is not
  // known, so it is set either way.
  const LinkState* now = seen.find(spec.name);
  std::optional<LinkSnapshot> fresh;  // a snapshot older than the tap: ask the kernel
  if (!now && !changed) now = (fresh = nl_.dump())->find(spec.name);
  if (changed || !now || now->isolated != spec.isolated) {
    nl_.set_port_isolated(rtnl_link_get_ifindex(tap.get()), spec.isolated, spec.name);
    changed = true;
  }
  if (created) return OpResult::Created;
  return changed ? OpResult::Updated : OpResult::Unchanged;
}

void TapDriver::remove(const std::string& name) {
  check_name("tap", name);
  nl_sock* sk = nl_.sock();
  LinkPtr link = get_link(sk, name);
  if (!link) return;
  // Deleting by name alone could take out somebody else's link.
  check_is_tap(link.get(), name);
  int err = rtnl_link_delete(sk, link.get());
  if (err < 0 && !absent(err)) fail("netlink: cannot delete tap " + name, err);
}

namespace {

struct CachePut {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};

// A group number that no link has now: the delete takes exactly the links
// moved into it. Random, so that two bangers (or a crash's leftovers) do not
// pick the same; 0 is every link's default group and is never used.
uint32_t unused_group(nl_cache* links) {
  std::set<uint32_t> used;
  for (nl_object* o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
    used.insert(rtnl_link_get_group(reinterpret_cast<rtnl_link*>(o)));
  }
  std::random_device rd;
  for (;;) {
    uint32_t g = rd() | 0x10000u;
    if (!used.count(g)) return g;
  }
}

int delete_group(nl_sock* sk, uint32_t group) {
  std::unique_ptr<nl_msg, decltype(&nlmsg_free)> msg(nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST), &nlmsg_free);
  if (!msg) return -NLE_NOMEM;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;  // ifi_index 0: the kernel selects by group
  int err = nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
  if (err < 0) return err;
  err = nla_put_u32(msg.get(), IFLA_GROUP, group);
  if (err < 0) return err;
  err = nl_send_auto(sk, msg.get());
  if (err < 0) return err;
  return nl_wait_for_ack(sk);
}

}  // namespace

std::map<std::string, std::string> TapDriver::remove_many(const std::vector<std::string>& names) {
  std::map<std::string, std::string> failed;
  nl_sock* sk = nl_.sock();
  nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &raw);
  if (err < 0) fail("netlink: cannot list links to delete taps", err);
  std::unique_ptr<nl_cache, CachePut> links(raw);
  const uint32_t group = unused_group(links.get());
  std::vector<std::string> grouped;
  for (const std::string& name : names) {
    try {
      check_name("tap", name);
      LinkPtr link(rtnl_link_get_by_name(links.get(), name.c_str()));
      if (!link) continue;  // absent: done
      check_is_tap(link.get(), name);
      LinkPtr change(rtnl_link_alloc());
      if (!change) throw HostError("tap " + name + ": out of memory");
      rtnl_link_set_group(change.get(), group);
      err = rtnl_link_change(sk, link.get(), change.get(), 0);
      if (absent(err)) continue;
      if (err < 0) fail("netlink: cannot mark tap " + name + " for deletion", err);
      grouped.push_back(name);
    } catch (const HostError& e) {
      failed[name] = e.what();
    }
  }
  if (grouped.empty()) return failed;
  err = delete_group(sk, group);
  if (err >= 0 || absent(err)) return failed;
  // Refused as a group (a link without a delete operation joined it?):
  // one by one, so that each tap gets its own answer.
  for (const std::string& name : grouped) {
    try {
      remove(name);
    } catch (const HostError& e) {
      failed[name] = e.what();
    }
  }
  return failed;
}

std::string tap_name_for(const std::string& vm_name) {
  // The top 48 bits: FNV's multiply mixes upward, so they depend on every
  // input bit, unlike the lowest ones.
  unsigned long long h = fnv1a64(vm_name) >> 16;
  char buf[16];
  std::snprintf(buf, sizeof buf, "bg-%012llx", h);
  return buf;
}

}  // namespace banger
