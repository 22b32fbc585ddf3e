// The pure half of the NAT driver: turning a NatRuleset into nft text, and
// turning nft's JSON listing back into canonical per-owner strings. Kept apart
// from the libnftables I/O so that it is unit-tested without root, and so that
// apply() and expected() share one renderer (they cannot drift apart).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "drivers/nat.h"

namespace banger::nat {

inline constexpr const char* kTable = "banger";  ///< family ip
inline constexpr size_t kMaxComment = 128;       ///< nft rejects 129 (measured)

/// One rule as banger writes it: `body` is nft rule text without the comment,
/// spelled exactly as observe() canonicalises the kernel's JSON for it.
struct RenderedRule {
  std::string chain;  ///< prerouting, output or postrouting
  std::string body;
  std::string owner;  ///< the comment
};

/// Throws HostError naming the first bad value: a bad value must never reach
/// nft, where a name could otherwise inject syntax.
void validate(const NatRuleset& rules);

/// All rules of `rules`, validated, in the order they are added.
std::vector<RenderedRule> render_rules(const NatRuleset& rules);

/// The whole nft script for one atomic apply (validates first). For an empty
/// ruleset it only deletes the table, so that the table disappears.
std::string render_batch(const NatRuleset& rules);

/// "CHAIN: BODY", the form stored in NatObserved::rules_by_owner.
std::string canonical(const std::string& chain, const std::string& body);

/// Parses the JSON of `list table ip banger`. Throws HostError on JSON that
/// is not an nft listing.
NatObserved parse_listing(std::string_view json);

}  // namespace banger::nat
