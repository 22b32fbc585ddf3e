// Name rules and "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// Linux IFNAMSIZ is 16 including the NUL; longer names are silently cut by the kernel.
constexpr size_t kMaxIfName = 15;

/// RFC 1123 label as Kubernetes uses it: ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$
bool is_dns1123_label(std::string_view s);
/// Dot-separated DNS-1123 labels, at most 253 characters: a Kubernetes node
/// name ("runner-a", "runner-a.ci.example").
bool is_dns1123_subdomain(std::string_view s);
/// A Kubernetes label key: optional "dns.subdomain/" prefix, then a name of at
/// most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric.
bool is_label_key(std::string_view s);
/// A Kubernetes label value: empty, or a name as above.
bool is_label_value(std::string_view s);
/// What the kernel accepts and what stays readable: 1..15 of [A-Za-z0-9_.-],
/// not "." or "..".
bool is_interface_name(std::string_view s);

/// "bg-<name>" when it fits in 15 bytes, else "bg-" + a prefix of the name +
/// a short hash of the whole name, so distinct names keep distinct bridges.
std::string default_bridge_name(std::string_view network_name);

size_t edit_distance(std::string_view a, std::string_view b);
/// The closest candidate within a small edit distance (case-insensitive), or "".
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

/// FNV-1a, 64-bit: stable across runs and builds, used for derived names
/// and change detectors. `h`: the hash so far, to hash several pieces.
uint64_t fnv1a64(std::string_view s, uint64_t h = 14695981039346656037ull);
/// 16 lowercase hex digits: how a hash is written (spec hashes, file sums).
std::string hex64(uint64_t h);
/// ASCII letters made lowercase (a MAC as dnsmasq and cloud-init match it).
std::string to_lower(std::string s);
/// `text` cut at every `sep`: "a,,b" gives {"a", "", "b"}, "" gives {""}.
std::vector<std::string> split(std::string_view text, char sep);

}  // namespace banger
