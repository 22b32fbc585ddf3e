#include "resources/quantity.h"

#include <cctype>

namespace banger {

std::optional<uint64_t> parse_size(std::string_view s) {
  uint64_t unit = 1;
  for (auto [suffix, mult] : {std::pair{"Ki", KiB}, {"Mi", MiB}, {"Gi", GiB}, {"Ti", TiB}}) {
    if (s.size() > 2 && s.substr(s.size() - 2) == suffix) {
      unit = mult;
      s.remove_suffix(2);
      break;
    }
  }
  // Digits, optionally "." and more digits; at most 15 significant characters
  // keeps every intermediate value far from overflow.
  if (s.empty() || s.size() > 15) return std::nullopt;
  uint64_t whole = 0, frac = 0, frac_div = 1;
  bool in_frac = false, any_digit = false;
  for (char c : s) {
    if (c == '.' && !in_frac) {
      in_frac = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    any_digit = true;
    if (in_frac) {
      frac = frac * 10 + (c - '0');
      frac_div *= 10;
    } else {
      whole = whole * 10 + (c - '0');
    }
  }
  if (!any_digit || s.front() == '.' || s.back() == '.') return std::nullopt;
  // frac < 10^15 and unit <= 2^40 could overflow, so every step is checked.
  uint64_t total = 0, frac_bytes = 0;
  if (__builtin_mul_overflow(whole, unit, &total)) return std::nullopt;
  if (__builtin_mul_overflow(frac, unit, &frac_bytes)) return std::nullopt;
  if (frac_bytes % frac_div != 0) return std::nullopt;  // not a whole number of bytes
  if (__builtin_add_overflow(total, frac_bytes / frac_div, &total)) return std::nullopt;
  return total;
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  for (auto [suffix, mult] : {std::pair{"Ti", TiB}, {"Gi", GiB}, {"Mi", MiB}, {"Ki", KiB}}) {
    if (bytes % mult == 0) return std::to_string(bytes / mult) + suffix;
  }
  return std::to_string(bytes);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t total_ms = 0;
  while (!s.empty()) {
    size_t i = 0;
    uint64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (i >= 9) return std::nullopt;  // absurdly long numbers are typos
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    if (i == 0) return std::nullopt;
    s.remove_prefix(i);
    uint64_t mult;
    if (s.starts_with("ms")) {
      mult = 1, s.remove_prefix(2);
    } else if (s.starts_with("s")) {
      mult = 1000, s.remove_prefix(1);
    } else if (s.starts_with("m")) {
      mult = 60'000, s.remove_prefix(1);
    } else if (s.starts_with("h")) {
      mult = 3'600'000, s.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total_ms += n * mult;
    // Each part is < 10^9 units of at most an hour; stop long before wrapping.
    if (total_ms > 1'000'000'000'000'000ull) return std::nullopt;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  if (s == 0) return "0s";
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace banger
