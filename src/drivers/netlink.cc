#include "drivers/netlink.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include <unordered_map>

#include "common/host_error.h"

namespace banger {

namespace {

struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

std::string nl_failure(const std::string& what, int err) {
  std::string msg = what + ": " + nl_geterror(err);
  if (err == -NLE_PERM) msg += " (banger needs root or CAP_NET_ADMIN)";
  return msg;
}

// Formatted by hand: nl_addr2str drops "/32", and every consumer compares
// against Cidr::str(), which always has the prefix.
std::string ipv4_text(rtnl_addr* a) {
  nl_addr* local = rtnl_addr_get_local(a);
  if (!local || nl_addr_get_len(local) != 4) return {};
  char buf[INET_ADDRSTRLEN] = {};
  if (!inet_ntop(AF_INET, nl_addr_get_binary_addr(local), buf, sizeof buf)) return {};
  return std::string(buf) + "/" + std::to_string(rtnl_addr_get_prefixlen(a));
}

}  // namespace

const LinkState* LinkSnapshot::find(const std::string& name) const {
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : &it->second;
}

const LinkState* LinkSnapshot::find(int ifindex) const {
  if (ifindex <= 0) return nullptr;
  for (const auto& [name, link] : by_name) {
    if (link.ifindex == ifindex) return &link;
  }
  return nullptr;
}

Netlink::Netlink() {
  sock_ = nl_socket_alloc();
  if (!sock_) throw HostError("netlink: cannot allocate a socket (out of memory)");
  int err = nl_connect(sock_, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
    throw HostError(nl_failure("netlink: cannot open a NETLINK_ROUTE socket", err));
  }
}

Netlink::~Netlink() {
  if (sock_) nl_socket_free(sock_);  // also closes the socket
}

LinkSnapshot Netlink::dump() {
  LinkSnapshot snap;
  nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &raw);
  if (err < 0) throw HostError(nl_failure("netlink: cannot list network links", err));
  CachePtr links(raw);

  // Addresses arrive keyed by ifindex; this index attaches them in O(1).
  std::unordered_map<int, LinkState*> by_index;
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    LinkState s;
    if (const char* name = rtnl_link_get_name(l)) s.name = name;
    s.ifindex = rtnl_link_get_ifindex(l);
    if (const char* type = rtnl_link_get_type(l)) s.type = type;
    s.master = rtnl_link_get_master(l);
    s.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
    auto [it, inserted] = snap.by_name.emplace(s.name, std::move(s));
    if (inserted) by_index[it->second.ifindex] = &it->second;
  }

  raw = nullptr;
  // The kernel dump covers every family (libnl asks AF_UNSPEC); IPv6 is
  // filtered out here.
  err = rtnl_addr_alloc_cache(sock_, &raw);
  if (err < 0) throw HostError(nl_failure("netlink: cannot list IPv4 addresses", err));
  CachePtr addrs(raw);
  for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_family(a) != AF_INET) continue;
    auto it = by_index.find(rtnl_addr_get_ifindex(a));
    if (it == by_index.end()) continue;  // link appeared between the two dumps
    std::string text = ipv4_text(a);
    if (!text.empty()) it->second->ipv4.push_back(std::move(text));
  }
  return snap;
}

}  // namespace banger
