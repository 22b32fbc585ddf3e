// Label selectors as kubectl writes them: equality-based ("app=web",
// "tier!=db"), set-based ("env in (dev,test)", "tier notin (db)"), and
// existence ("canary", "!legacy"), joined by commas (all must hold). Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace banger {

struct LabelRequirement {
  enum class Op { Equals, NotEquals, Exists, NotExists, In, NotIn };
  std::string key;
  Op op = Op::Exists;
  std::string value;                ///< Equals, NotEquals
  std::vector<std::string> values;  ///< In, NotIn
};

struct LabelSelector {
  std::vector<LabelRequirement> all;
  bool matches(const std::map<std::string, std::string>& labels) const;
};

/// nullopt with `why` set when `text` is not a selector.
std::optional<LabelSelector> parse_label_selector(const std::string& text, std::string& why);

/// Labels as the state DB keeps them: "k1=v1,k2=v2", sorted by key.
std::string format_labels(const std::map<std::string, std::string>& labels);
std::optional<std::map<std::string, std::string>> parse_labels(const std::string& text);

}  // namespace banger
