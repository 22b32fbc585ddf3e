// The nf_tables generation of this network namespace: a counter the kernel
// bumps on every committed ruleset change, by anyone (nft, iptables-nft,
// firewalld, banger). nft itself uses it to know when its cache is stale;
// banger uses it the same way for its listing of table `ip banger`
// (nat_cache.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace banger {

/// One NFT_MSG_GETGEN round trip on a NETLINK_NETFILTER socket (about 20 us).
/// nullopt when the kernel does not answer it (no nf_tables, no permission):
/// the caller then lists as it would without a cache.
std::optional<uint32_t> nft_generation();

/// What makes a generation number mean one ruleset: the boot (boot_id) and
/// the network namespace (device and inode of /proc/self/ns/net), since each
/// namespace counts from its own start. Empty when either is unreadable.
std::string nft_generation_scope();

}  // namespace banger
