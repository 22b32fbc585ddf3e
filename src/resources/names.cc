#include "resources/names.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace banger {

namespace {
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool is_qualified_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}
}  // namespace

bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!is_dns1123_label(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_label_key(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return is_qualified_name(s);
  return is_dns1123_subdomain(s.substr(0, slash)) && is_qualified_name(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) { return s.empty() || is_qualified_name(s); }

bool is_interface_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxIfName || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

uint64_t fnv1a64(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string default_bridge_name(std::string_view network_name) {
  std::string plain = "bg-" + std::string(network_name);
  if (plain.size() <= kMaxIfName) return plain;
  char hash[8];
  std::snprintf(hash, sizeof hash, "%05llx",
                static_cast<unsigned long long>(fnv1a64(network_name) & 0xfffff));
  // bg- (3) + 6 chars of the name + '-' + 5 hex = 15
  std::string prefix(network_name.substr(0, 6));
  while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
  return "bg-" + prefix + "-" + hash;
}

// Optimal string alignment distance: edits plus swaps of two neighbours
// ("wbe" -> "web" is one typo, as a person sees it).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> pprev(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], pprev[j - 2] + 1);
      }
    }
    std::swap(pprev, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  // Long inputs are never "close" to anything; skip the quadratic work.
  if (word.size() > 64) return "";
  std::string w = lower(word);
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(w, lower(c));
    // Allow about one typo per three characters, at least one, at most three.
    size_t limit = std::clamp<size_t>(std::max(w.size(), c.size()) / 3, 1, 3);
    if (d <= limit && d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t at; (at = text.find(sep, start)) != std::string_view::npos; start = at + 1) {
    out.emplace_back(text.substr(start, at - start));
  }
  out.emplace_back(text.substr(start));
  return out;
}

}  // namespace banger
