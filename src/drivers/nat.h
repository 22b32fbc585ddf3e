// NAT and port forwards in the nftables table `ip banger`, which banger owns
// whole; no other table is read for changes or written. Each apply replaces the
// table in one atomic transaction (libnftables), so a host is never left half
// configured. Rules carry a comment naming their resource ("banger:net:NAME",
// "banger:fwd:NAME") so that observe maps them back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resources/model.h"
#include "resources/netaddr.h"

struct nft_ctx;

namespace banger {
namespace nat {
struct CacheKey;
}

struct MasqueradeRule {
  std::string network;  ///< Network name
  Cidr subnet;
};

struct DnatRule {
  std::string forward;  ///< PortForward name
  Protocol protocol = Protocol::Tcp;
  Ipv4 host_address;    ///< 0.0.0.0 = any local address (fib daddr type local)
  uint16_t host_port = 0;
  Ipv4 guest_ip;
  uint16_t guest_port = 0;
  Cidr subnet;          ///< the guest's network, for the 127.0.0.1 masquerade
};

struct NatRuleset {
  std::vector<MasqueradeRule> masquerades;
  std::vector<DnatRule> forwards;
  bool empty() const { return masquerades.empty() && forwards.empty(); }
};

/// What is in table `ip banger` now: for each owner comment, the canonical
/// text of its rules (sorted), so a missing or hand-edited rule shows up as a
/// difference. Rules without a banger comment are listed under "".
struct NatObserved {
  bool table_exists = false;
  std::map<std::string, std::vector<std::string>> rules_by_owner;
  /// The table carries flags ("table flags ..." among the foreign lines).
  bool has_table_flags() const {
    auto it = rules_by_owner.find("");
    if (it == rules_by_owner.end()) return false;
    for (const std::string& line : it->second) {
      if (line.rfind("table flags ", 0) == 0) return true;
    }
    return false;
  }
};

class NatDriver {
 public:
  /// With a `cache_path`, observe() keeps its last listing there and reuses
  /// it while the nf_tables generation stays the same (nat_cache.h); apply()
  /// replaces it with what it wrote when no other commit came in between.
  /// Without, every observe() lists.
  explicit NatDriver(std::string cache_path = {});
  ~NatDriver();
  NatDriver(const NatDriver&) = delete;
  NatDriver& operator=(const NatDriver&) = delete;

  /// The cached listing if the generation has not moved, else one JSON
  /// listing of table `ip banger` (three or more for a table with flags, see
  /// nat_rules.h); a missing table is empty.
  NatObserved observe();
  /// Replaces the table with exactly `rules` in one transaction; an empty
  /// ruleset deletes the table. Throws HostError with nft's message.
  void apply(const NatRuleset& rules);
  /// What observe() would return right after apply(rules). Pure.
  static NatObserved expected(const NatRuleset& rules);
  /// The comment used for a network's / a forward's rules.
  static std::string network_owner(const std::string& name) { return "banger:net:" + name; }
  static std::string forward_owner(const std::string& name) { return "banger:fwd:" + name; }

 private:
  nft_ctx* context();  ///< libnftables' context, made on first use; nft_mutex() held
  NatObserved list_table();
  void apply_batch(const std::string& script);  ///< one transaction; throws HostError
  std::optional<nat::CacheKey> cache_key() const;
  void write_cache(const nat::CacheKey& key, const NatObserved& listed);
  void forget_cache();
  struct Ctx;
  Ctx* ctx_;
};

}  // namespace banger
