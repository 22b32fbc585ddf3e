// banger's last listing of table `ip banger`, kept in a file of the run dir
// and trusted only while the kernel's nf_tables generation is the one it was
// listed at (nft_generation.h). libnftables takes 0.25 s to list and print
// 3000 rules as JSON, and banger parses that for another 0.1 s; the
// generation check takes 20 us. Any change to any table by anyone bumps the
// generation, so a hit is exactly what a listing would say. Pure: the file
// I/O is NatDriver's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/nat.h"

namespace banger::nat {

struct CacheKey {
  /// boot, network namespace and banger binary (nft_generation_scope() plus
  /// the executable), so that a reboot, another namespace or an upgraded
  /// banger with another canonical form never reads an old entry.
  std::string scope;
  uint32_t generation = 0;
};

std::string encode_cache(const CacheKey& key, const NatObserved& observed);
/// nullopt unless `text` is a whole, well-formed entry for exactly `key`.
std::optional<NatObserved> decode_cache(std::string_view text, const CacheKey& key);

}  // namespace banger::nat
