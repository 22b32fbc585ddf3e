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

// ---- reading a table that has flags -----------------------------------
// libnftables 1.0.6 (Debian 12) prints the JSON of a table with exactly one
// flag (e.g. "flags owner") from a jansson string it has already freed
// (json.c table_flags_json(), json_unpack "[o]"; fixed upstream by "json: fix
// use after free in table_flags_json()"): the listing then says "flags":
// "<whatever reused that memory>", or under ASan stops in the middle. So
// observe() asks for the JSON of a table with flags only chain by chain (which
// prints no table object), and takes the table's own lines from the text
// listing, which prints the flags correctly.

/// The table's own lines in the text listing of `list table ip banger`.
struct TableOutline {
  std::vector<std::string> flags;    ///< as nft spells them: "owner", "dormant"
  bool has_flags = false;            ///< a "flags" line, even one nft cannot name
  std::vector<std::string> objects;  ///< "set NAME", "ct helper NAME", ...: all but chains
};
TableOutline parse_outline(std::string_view text);

/// Names of the chains of table ip banger in the JSON of `list chains ip`.
std::vector<std::string> chain_names(std::string_view chains_json);

/// A JSON command listing one chain of table ip banger and its rules; JSON, so
/// that any chain name is passed exactly.
std::string list_chain_command(const std::string& chain);

/// The same NatObserved that parse_listing() would give for the whole table,
/// from its outline and the JSON listing of each of its chains.
NatObserved parse_pieces(const TableOutline& outline, const std::vector<std::string>& chains);

}  // namespace banger::nat
