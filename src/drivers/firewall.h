// The host's own firewall, as far as it decides whether VM traffic is
// forwarded: base chains at the forward hook of other tables whose policy
// is drop (what Docker, ufw and firewalld leave). An accept in banger's
// table cannot override them: in nftables every base chain at a hook sees
// the packet and a drop in any of them is final. So doctor names them and
// prints the rules that let banger's bridges through.
#pragma once

#include <string>
#include <vector>

namespace banger {

struct ForwardChain {
  std::string family;  ///< "ip", "inet", "ip6", ...
  std::string table;   ///< "filter"
  std::string chain;   ///< "FORWARD"
  std::string policy;  ///< "drop" or "accept"
  bool docker_user = false;  ///< its table has Docker's DOCKER-USER chain
  bool ufw = false;          ///< its table has ufw's chains
};

/// Base chains at the forward hook, from `nft -j list chains` output. Pure;
/// throws HostError on output that is not that.
std::vector<ForwardChain> parse_forward_chains(const std::string& json_listing);
/// One listing of every table's chains (needs root).
std::vector<ForwardChain> list_forward_chains();
/// The commands that let traffic from and back to `bridge` through a
/// dropping chain: iptables for Docker's DOCKER-USER chain, ufw for ufw's,
/// nft otherwise.
std::vector<std::string> forward_fix(const ForwardChain& c, const std::string& bridge);

}  // namespace banger
