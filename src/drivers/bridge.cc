#include "drivers/bridge.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/host_error.h"
#include "drivers/netlink_link.h"
#include "drivers/sysctl.h"
#include "resources/names.h"

namespace banger {

namespace {

struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

using nl::absent;
using nl::fail;
using nl::get_link;
using nl::LinkPtr;
using nl::type_of;

[[noreturn]] void refuse_foreign(const std::string& name, const std::string& type) {
  throw HostError(
      "bridge " + name + ": a link of that name exists and is " +
      (type.empty() ? std::string("not a bridge (no link kind)") : "a " + type + ", not a bridge") +
      "; banger will not touch it. Rename or delete that link, or set "
      "spec.bridge of the Network to another name", ErrorCode::Conflict);
}

void check_name(const std::string& name) {
  if (!is_interface_name(name)) {
    throw HostError("bridge \"" + name +
                    "\": not a valid interface name (1..15 of [A-Za-z0-9_.-]); choose a "
                    "shorter spec.bridge",
                    ErrorCode::Invalid);
  }
}

// A fixed MAC: without one the bridge adopts the lowest port MAC, so it would
// change whenever a VM's tap joins or leaves (and ARP caches would go stale).
// Derived from the name so that re-creating the bridge gives the same MAC.
NlAddrPtr bridge_mac(const std::string& name) {
  uint64_t h = fnv1a64("banger-bridge/" + name);
  std::array<uint8_t, 6> mac{};
  for (size_t i = 0; i < mac.size(); ++i) mac[i] = static_cast<uint8_t>(h >> (8 * i));
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  NlAddrPtr a(nl_addr_build(AF_LLC, mac.data(), mac.size()));
  if (!a) throw HostError("bridge " + name + ": out of memory building its MAC address");
  return a;
}

/// True when this call created the bridge; false when it already existed.
bool create_bridge(nl_sock* sk, const std::string& name) {
  LinkPtr l(rtnl_link_bridge_alloc());
  if (!l) throw HostError("bridge " + name + ": out of memory");
  rtnl_link_set_name(l.get(), name.c_str());
  NlAddrPtr mac = bridge_mac(name);
  rtnl_link_set_addr(l.get(), mac.get());
  rtnl_link_set_flags(l.get(), IFF_UP);  // up in the same message that creates it
  // EXCL: without it an existing link of any kind would be silently "changed".
  int err = rtnl_link_add(sk, l.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) fail("netlink: cannot create bridge " + name, err);
  return true;
}

NlAddrPtr parse_addr(const std::string& text, const std::string& bridge) {
  nl_addr* a = nullptr;
  int err = nl_addr_parse(text.c_str(), AF_INET, &a);
  if (err < 0) fail("bridge " + bridge + ": bad address " + text, err);
  return NlAddrPtr(a);
}

bool is_ipv4(nl_addr* a, Ipv4 ip) {
  if (!a || nl_addr_get_len(a) != 4) return false;
  uint32_t be = 0;
  std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
  return ntohl(be) == ip.value;
}

/// Leaves `gateway` as the only IPv4 address of the bridge; returns whether
/// anything changed. IPv6 (the kernel's link-local) is left alone.
bool fix_addresses(nl_sock* sk, const std::string& name, int ifindex, const Cidr& gateway,
                   bool known_empty) {
  const std::string want = gateway.str();
  bool changed = false;
  bool have = false;
  if (!known_empty) {
    nl_cache* raw = nullptr;
    int err = rtnl_addr_alloc_cache(sk, &raw);
    if (err < 0) fail("netlink: cannot list addresses of bridge " + name, err);
    CachePtr cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
      auto* a = reinterpret_cast<rtnl_addr*>(o);
      if (rtnl_addr_get_family(a) != AF_INET || rtnl_addr_get_ifindex(a) != ifindex) continue;
      nl_addr* local = rtnl_addr_get_local(a);
      if (is_ipv4(local, gateway.base) && rtnl_addr_get_prefixlen(a) == gateway.prefix) {
        have = true;
        continue;
      }
      // Other addresses go first: removing a primary address also removes
      // the secondaries of its subnet, which could include the gateway.
      err = rtnl_addr_delete(sk, a, 0);
      if (err < 0 && err != -NLE_NOADDR && !absent(err)) {
        char buf[64];
        fail("netlink: cannot remove address " +
                 std::string(local ? nl_addr2str(local, buf, sizeof buf) : "?") + " from bridge " +
                 name,
             err);
      }
      if (err == 0) changed = true;
    }
  }
  if (have && !changed) return false;
  AddrPtr a(rtnl_addr_alloc());
  if (!a) throw HostError("bridge " + name + ": out of memory");
  rtnl_addr_set_ifindex(a.get(), ifindex);
  NlAddrPtr local = parse_addr(want, name);
  int err = rtnl_addr_set_local(a.get(), local.get());  // also sets family and prefix
  if (err < 0) fail("bridge " + name + ": cannot use address " + want, err);
  NlAddrPtr brd = parse_addr(gateway.broadcast().str(), name);
  rtnl_addr_set_broadcast(a.get(), brd.get());
  err = rtnl_addr_add(sk, a.get(), 0);
  if (err == -NLE_EXIST) return changed;
  if (err < 0) fail("netlink: cannot add address " + want + " to bridge " + name, err);
  return true;
}

bool seen_is_right(const LinkState& l, const BridgeSpec& spec) {
  return l.type == "bridge" && l.up && l.ipv4.size() == 1 && l.ipv4[0] == spec.gateway.str();
}

}  // namespace

OpResult BridgeDriver::ensure(const BridgeSpec& spec, const LinkSnapshot& seen) {
  check_name(spec.name);
  nl_sock* sk = nl_.sock();
  const LinkState* was = seen.find(spec.name);
  if (was) {
    if (was->type != "bridge") refuse_foreign(spec.name, was->type);
    if (seen_is_right(*was, spec)) {
      try {
        if (route_localnet_enabled(spec.name) == spec.route_localnet) return OpResult::Unchanged;
      } catch (const HostError&) {
        // Gone since the snapshot was taken: the kernel path below re-creates it.
      }
    }
  }

  // From here on the kernel's current state decides, not the snapshot: it
  // may be stale, and the result must say what this call really did.
  bool created = false;
  LinkPtr link;
  if (was) link = get_link(sk, spec.name);
  if (!link) {
    created = create_bridge(sk, spec.name);
    link = get_link(sk, spec.name);
    if (!link) {
      throw HostError("bridge " + spec.name +
                      " disappeared right after it was created; is another program "
                      "managing links of that name?");
    }
  }
  if (!rtnl_link_is_bridge(link.get())) refuse_foreign(spec.name, type_of(link.get()));

  bool changed =
      fix_addresses(sk, spec.name, rtnl_link_get_ifindex(link.get()), spec.gateway, created);
  if (!(rtnl_link_get_flags(link.get()) & IFF_UP)) {
    LinkPtr change(rtnl_link_alloc());
    if (!change) throw HostError("bridge " + spec.name + ": out of memory");
    rtnl_link_set_flags(change.get(), IFF_UP);
    int err = rtnl_link_change(sk, link.get(), change.get(), 0);
    if (err < 0) fail("netlink: cannot bring bridge " + spec.name + " up", err);
    changed = true;
  }
  // A new bridge starts at the namespace default, which need not be 0.
  if (route_localnet_enabled(spec.name) != spec.route_localnet) {
    set_route_localnet(spec.name, spec.route_localnet);
    changed = true;
  }
  if (created) return OpResult::Created;
  return changed ? OpResult::Updated : OpResult::Unchanged;
}

void BridgeDriver::remove(const std::string& name) {
  check_name(name);
  nl_sock* sk = nl_.sock();
  LinkPtr link = get_link(sk, name);
  if (!link) return;
  // Deleting by name alone could take out somebody's veth or uplink.
  if (!rtnl_link_is_bridge(link.get())) refuse_foreign(name, type_of(link.get()));
  int err = rtnl_link_delete(sk, link.get());
  if (err < 0 && !absent(err)) fail("netlink: cannot delete bridge " + name, err);
}

}  // namespace banger
