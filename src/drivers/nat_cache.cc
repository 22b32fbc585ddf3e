#include "drivers/nat_cache.h"

#include <charconv>

namespace banger::nat {
namespace {

constexpr std::string_view kMagic = "banger-nat-cache 1\n";

void put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
  out += '\n';
}

// Reads "LEN:BYTES\n" from the front of `in`.
bool take(std::string_view& in, std::string_view& s) {
  size_t len = 0;
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), len);
  if (ec != std::errc() || p == in.data() + in.size() || *p != ':') return false;
  const size_t used = static_cast<size_t>(p - in.data()) + 1;
  if (in.size() - used < len + 1 || in[used + len] != '\n') return false;
  s = in.substr(used, len);
  in.remove_prefix(used + len + 1);
  return true;
}

bool take_count(std::string_view& in, size_t& n) {
  std::string_view s;
  if (!take(in, s)) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string encode_cache(const CacheKey& key, const NatObserved& observed) {
  std::string out(kMagic);
  put(out, key.scope);
  put(out, std::to_string(key.generation));
  put(out, observed.table_exists ? "1" : "0");
  put(out, std::to_string(observed.rules_by_owner.size()));
  for (const auto& [owner, rules] : observed.rules_by_owner) {
    put(out, owner);
    put(out, std::to_string(rules.size()));
    for (const std::string& r : rules) put(out, r);
  }
  out += "end\n";
  return out;
}

std::optional<NatObserved> decode_cache(std::string_view in, const CacheKey& key) {
  if (in.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  in.remove_prefix(kMagic.size());
  std::string_view scope, generation, table;
  if (!take(in, scope) || scope != key.scope || !take(in, generation) ||
      generation != std::to_string(key.generation) || !take(in, table) || (table != "0" && table != "1"))
    return std::nullopt;
  NatObserved out;
  out.table_exists = table == "1";
  size_t owners = 0;
  if (!take_count(in, owners)) return std::nullopt;
  for (size_t i = 0; i < owners; ++i) {
    std::string_view owner;
    size_t count = 0;
    if (!take(in, owner) || !take_count(in, count) || count > in.size()) return std::nullopt;
    auto& rules = out.rules_by_owner[std::string(owner)];
    rules.reserve(count);
    for (size_t j = 0; j < count; ++j) {
      std::string_view r;
      if (!take(in, r)) return std::nullopt;
      rules.emplace_back(r);
    }
  }
  if (in != "end\n" || out.rules_by_owner.size() != owners) return std::nullopt;
  return out;
}

}  // namespace banger::nat
