#include "drivers/netlink_link.h"

#include "common/host_error.h"

namespace banger::nl {

void fail(const std::string& what, int err) {
  std::string msg = what + ": " + nl_geterror(err);
  if (err == -NLE_PERM) msg += " (banger needs root or CAP_NET_ADMIN)";
  throw HostError(msg);
}

LinkPtr get_link(nl_sock* sk, const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(sk, 0, name.c_str(), &l);
  if (absent(err)) return nullptr;
  if (err < 0) fail("netlink: cannot read link " + name, err);
  return LinkPtr(l);
}

std::string type_of(rtnl_link* l) {
  const char* t = rtnl_link_get_type(l);
  return t ? t : "";
}

}  // namespace banger::nl
