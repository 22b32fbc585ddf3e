// RAII libnl-route-3 socket and the one bulk read of links and addresses that
// observe() uses: one RTM_GETLINK dump plus one RTM_GETADDR dump, whatever the
// number of VMs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

struct nl_sock;

namespace banger {

struct LinkState {
  std::string name;
  int ifindex = 0;
  std::string type;  ///< "bridge", "tun" (taps), "veth", "" for lo/physical
  int master = 0;    ///< ifindex of the bridge it is enslaved to, 0 = none
  bool up = false;   ///< IFF_UP (administrative state)
  std::vector<std::string> ipv4;  ///< "10.42.0.1/24"
  bool isolated = false;  ///< a bridge port with the isolated flag (it reaches non-isolated ports only)
};

struct LinkSnapshot {
  std::map<std::string, LinkState> by_name;
  const LinkState* find(const std::string& name) const;
  const LinkState* find(int ifindex) const;
};

/// One netlink route socket. Not thread-safe: one per thread, or a mutex.
class Netlink {
 public:
  Netlink();  ///< throws HostError when the socket cannot be opened
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  /// Every link and IPv4 address of the current network namespace.
  LinkSnapshot dump();
  /// Sets or clears a bridge port's isolated flag (IFLA_BRPORT_ISOLATED, as
  /// `ip link set dev NAME type bridge_slave isolated on`): isolated ports
  /// cannot talk to each other, only to the bridge itself and open ports.
  void set_port_isolated(int ifindex, bool on, const std::string& name);
  nl_sock* sock() const { return sock_; }

 private:
  nl_sock* sock_ = nullptr;
};

}  // namespace banger
