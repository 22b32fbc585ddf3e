#include "resources/label_selector.h"

#include "resources/names.h"

namespace banger {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const LabelRequirement& r : all) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    switch (r.op) {
      case LabelRequirement::Op::Equals:
        if (!has || it->second != r.value) return false;
        break;
      case LabelRequirement::Op::NotEquals:  // as kubectl: a missing key matches !=
        if (has && it->second == r.value) return false;
        break;
      case LabelRequirement::Op::Exists:
        if (!has) return false;
        break;
      case LabelRequirement::Op::NotExists:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::optional<LabelSelector> parse_label_selector(const std::string& text, std::string& why) {
  LabelSelector sel;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    LabelRequirement r;
    size_t ne = part.find("!="), eq = part.find('=');
    if (ne != std::string::npos) {
      r = {trim(part.substr(0, ne)), LabelRequirement::Op::NotEquals, trim(part.substr(ne + 2))};
    } else if (eq != std::string::npos) {
      // "==" is kubectl's other spelling of "=".
      size_t vstart = part.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      r = {trim(part.substr(0, eq)), LabelRequirement::Op::Equals, trim(part.substr(vstart))};
    } else if (!part.empty() && part[0] == '!') {
      r = {trim(part.substr(1)), LabelRequirement::Op::NotExists, ""};
    } else {
      r = {part, LabelRequirement::Op::Exists, ""};
    }
    if (!is_label_key(r.key)) {
      why = "\"" + part + "\" is not a label requirement (expected key=value, key!=value, key or !key, joined by commas)";
      return std::nullopt;
    }
    if (!is_label_value(r.value)) {
      why = "\"" + r.value + "\" is not a label value";
      return std::nullopt;
    }
    sel.all.push_back(std::move(r));
  }
  return sel;
}

std::string format_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

std::optional<std::map<std::string, std::string>> parse_labels(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    size_t eq = part.find('=');
    if (eq == std::string::npos || !is_label_key(part.substr(0, eq)) || !is_label_value(part.substr(eq + 1))) {
      return std::nullopt;
    }
    out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

}  // namespace banger
