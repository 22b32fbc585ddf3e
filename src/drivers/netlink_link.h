// Small pieces the link drivers (bridge, tap) share: owning pointers for
// libnl objects, error translation, and single-link lookups.
#pragma once

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <memory>
#include <string>

namespace banger::nl {

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;

/// Throws HostError "what: libnl's text" (with a hint for EPERM).
[[noreturn]] void fail(const std::string& what, int err);
/// The link (or object) is not there: success for removals.
inline bool absent(int err) { return err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND; }
/// The kernel's current view of one link; nullptr when it does not exist.
LinkPtr get_link(nl_sock* sk, const std::string& name);
/// rtnl_link_get_type, "" for links without a kind (lo, physical).
std::string type_of(rtnl_link* l);

}  // namespace banger::nl
