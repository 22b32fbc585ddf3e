#include "drivers/netlink.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <memory>

#include <unordered_map>

#include "common/host_error.h"

namespace banger {

namespace {

std::string nl_failure(const std::string& what, int err) {
  std::string msg = what + ": " + nl_geterror(err);
  if (err == -NLE_PERM) msg += " (banger needs root or CAP_NET_ADMIN)";
  return msg;
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

namespace {

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
struct CbFree {
  void operator()(nl_cb* c) const { nl_cb_put(c); }
};

// One dump request, its answers handed to `each` as they arrive. libnl's
// link and address caches parse every attribute of every object (stats,
// IPv6 settings, ...) into allocated objects; this reads only the few that
// banger looks at (a no-op diff at a thousand VMs spent 11% of its CPU in
// the libnl caches).
template <class Each>
void dump_raw(nl_sock* sock, int type, int family, bool skip_stats, const std::string& what, Each each) {
  std::unique_ptr<nl_msg, MsgFree> msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_DUMP));
  if (!msg) throw HostError(what + ": out of memory");
  int err = 0;
  if (type == RTM_GETLINK) {
    ifinfomsg ifi{};
    ifi.ifi_family = static_cast<unsigned char>(family);
    err = nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
    // The kernel then leaves out the per-link counters it would otherwise
    // gather and send for every link.
    if (err >= 0 && skip_stats) err = nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  } else {
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<unsigned char>(family);
    err = nlmsg_append(msg.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO);
  }
  if (err < 0) throw HostError(nl_failure(what, err));
  std::unique_ptr<nl_cb, CbFree> cb(nl_cb_clone(nl_socket_get_cb(sock)));
  if (!cb) throw HostError(what + ": out of memory");
  nl_cb_set(
      cb.get(), NL_CB_VALID, NL_CB_CUSTOM,
      [](nl_msg* m, void* arg) {
        (*static_cast<Each*>(arg))(nlmsg_hdr(m));
        return static_cast<int>(NL_OK);
      },
      &each);
  if ((err = nl_send_auto(sock, msg.get())) < 0) throw HostError(nl_failure(what, err));
  if ((err = nl_recvmsgs(sock, cb.get())) < 0) throw HostError(nl_failure(what, err));
}

}  // namespace

void Netlink::set_port_isolated(int ifindex, bool on, const std::string& name) {
  const std::string what = "netlink: cannot " + std::string(on ? "isolate" : "un-isolate") + " bridge port " + name;
  std::unique_ptr<nl_msg, MsgFree> msg(nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) throw HostError(what + ": out of memory");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  int err = nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
  nlattr* info = err >= 0 ? nla_nest_start(msg.get(), IFLA_LINKINFO) : nullptr;
  if (!info) throw HostError(what + ": message too large");
  err = nla_put_string(msg.get(), IFLA_INFO_SLAVE_KIND, "bridge");
  nlattr* data = err >= 0 ? nla_nest_start(msg.get(), IFLA_INFO_SLAVE_DATA) : nullptr;
  if (!data) throw HostError(what + ": message too large");
  if ((err = nla_put_u8(msg.get(), IFLA_BRPORT_ISOLATED, on ? 1 : 0)) < 0) throw HostError(nl_failure(what, err));
  nla_nest_end(msg.get(), data);
  nla_nest_end(msg.get(), info);
  if ((err = nl_send_auto(sock_, msg.get())) < 0) throw HostError(nl_failure(what, err));
  if ((err = nl_wait_for_ack(sock_)) < 0) throw HostError(nl_failure(what, err));
}

LinkSnapshot Netlink::dump() {
  LinkSnapshot snap;
  // Addresses arrive keyed by ifindex; this index attaches them in O(1).
  std::unordered_map<int, LinkState*> by_index;
  dump_raw(sock_, RTM_GETLINK, AF_UNSPEC, true, "netlink: cannot list network links", [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    nlattr* tb[IFLA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0 || !tb[IFLA_IFNAME]) return;
    const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(h));
    LinkState s;
    s.name = nla_get_string(tb[IFLA_IFNAME]);
    s.ifindex = ifi->ifi_index;
    s.up = (ifi->ifi_flags & IFF_UP) != 0;
    if (tb[IFLA_MASTER]) s.master = static_cast<int>(nla_get_u32(tb[IFLA_MASTER]));
    if (tb[IFLA_LINKINFO]) {
      nlattr* info[IFLA_INFO_MAX + 1] = {};
      if (nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) >= 0) {
        if (info[IFLA_INFO_KIND]) s.type = nla_get_string(info[IFLA_INFO_KIND]);
        // A bridge port's own settings ride along in the same message.
        nlattr* port[IFLA_BRPORT_MAX + 1] = {};
        if (info[IFLA_INFO_SLAVE_DATA] &&
            nla_parse_nested(port, IFLA_BRPORT_MAX, info[IFLA_INFO_SLAVE_DATA], nullptr) >= 0 &&
            port[IFLA_BRPORT_ISOLATED]) {
          s.isolated = nla_get_u8(port[IFLA_BRPORT_ISOLATED]) != 0;
        }
      }
    }
    auto [it, inserted] = snap.by_name.emplace(s.name, std::move(s));
    if (inserted) by_index[it->second.ifindex] = &it->second;
  });
  // IPv4 only: the kernel filters by family, so the IPv6 link-local address
  // of every tap never crosses.
  dump_raw(sock_, RTM_GETADDR, AF_INET, false, "netlink: cannot list IPv4 addresses", [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(h));
    if (ifa->ifa_family != AF_INET) return;
    nlattr* tb[IFA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return;
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS the peer's on a
    // point-to-point link), as rtnl_addr_get_local reads it.
    nlattr* local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (!local || nla_len(local) != 4) return;
    auto it = by_index.find(static_cast<int>(ifa->ifa_index));
    if (it == by_index.end()) return;  // link appeared between the two dumps
    char buf[INET_ADDRSTRLEN] = {};
    if (!inet_ntop(AF_INET, nla_data(local), buf, sizeof buf)) return;
    it->second->ipv4.push_back(std::string(buf) + "/" + std::to_string(ifa->ifa_prefixlen));
  });
  return snap;
}

}  // namespace banger
