// Where each element of a vector sits, by a string key: lookups that would
// otherwise scan. At 1000 VMs a no-op diff looked names up millions of
// times, a scan of some 2000 entries each: quadratic.
//
// Build it once the vector is final. A stale index stays correct: a hit is
// checked against the element it points to, and when the vector's size has
// changed since the build, a miss falls back to a scan.
#pragma once

#include <string>
#include <unordered_map>

namespace banger {

class PositionIndex {
 public:
  /// key_of(element) -> std::string; the first of equal keys wins, as a scan.
  template <class Vec, class KeyOf>
  void build(const Vec& v, KeyOf key_of) {
    pos_.clear();
    pos_.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) pos_.try_emplace(key_of(v[i]), i);
    built_size_ = v.size();
    built_ = true;
  }

  /// The element whose key is `key` (built as key_of builds it), for which
  /// matches(element) holds; nullptr when there is none.
  template <class Vec, class Matches>
  auto find(const Vec& v, const std::string& key, Matches matches) const -> decltype(&v[0]) {
    if (built_) {
      auto it = pos_.find(key);
      if (it != pos_.end() && it->second < v.size() && matches(v[it->second])) return &v[it->second];
      if (it == pos_.end() && v.size() == built_size_) return nullptr;
    }
    for (const auto& e : v) {
      if (matches(e)) return &e;
    }
    return nullptr;
  }

 private:
  std::unordered_map<std::string, size_t> pos_;
  size_t built_size_ = 0;
  bool built_ = false;
};

}  // namespace banger
