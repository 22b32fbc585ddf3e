#include "resources/label_selector.h"

#include "resources/names.h"

#include <algorithm>

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
      case LabelRequirement::Op::In:
        if (!has || std::find(r.values.begin(), r.values.end(), it->second) == r.values.end()) return false;
        break;
      case LabelRequirement::Op::NotIn:  // as kubectl: a missing key matches notin
        if (has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end()) return false;
        break;
    }
  }
  return true;
}

namespace {

// The requirements of a selector: split at the commas outside parentheses.
std::optional<std::vector<std::string>> split_requirements(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) return std::nullopt;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (depth != 0) return std::nullopt;
  out.push_back(trim(cur));
  return out;
}

// "key in (a, b)" or "key notin (a,b)": the key, the operator and the values.
bool parse_set(const std::string& part, LabelRequirement& r) {
  size_t open = part.find('(');
  if (open == std::string::npos || part.back() != ')') return false;
  std::string head = trim(part.substr(0, open));
  size_t sp = head.find_last_of(" \t");
  if (sp == std::string::npos) return false;
  std::string op = head.substr(sp + 1);
  if (op != "in" && op != "notin") return false;
  r.key = trim(head.substr(0, sp));
  r.op = op == "in" ? LabelRequirement::Op::In : LabelRequirement::Op::NotIn;
  std::string inner = part.substr(open + 1, part.size() - open - 2);
  if (trim(inner).empty()) return false;  // kubectl: the set can't be empty
  for (const std::string& v : split(inner, ',')) r.values.push_back(trim(v));
  return true;
}

}  // namespace

std::optional<LabelSelector> parse_label_selector(const std::string& text, std::string& why) {
  const char* expected =
      " (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key, joined by commas)";
  LabelSelector sel;
  auto parts = split_requirements(text);
  if (!parts) {
    why = "\"" + text + "\" has unbalanced parentheses" + expected;
    return std::nullopt;
  }
  for (const std::string& part : *parts) {
    LabelRequirement r;
    size_t ne = part.find("!="), eq = part.find('=');
    if (part.find('(') != std::string::npos) {
      if (!parse_set(part, r)) {
        why = "\"" + part + "\" is not a label requirement" + expected;
        return std::nullopt;
      }
    } else if (ne != std::string::npos) {
      r = {trim(part.substr(0, ne)), LabelRequirement::Op::NotEquals, trim(part.substr(ne + 2)), {}};
    } else if (eq != std::string::npos) {
      // "==" is kubectl's other spelling of "=".
      size_t vstart = part.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      r = {trim(part.substr(0, eq)), LabelRequirement::Op::Equals, trim(part.substr(vstart)), {}};
    } else if (!part.empty() && part[0] == '!') {
      r = {trim(part.substr(1)), LabelRequirement::Op::NotExists, "", {}};
    } else {
      r = {part, LabelRequirement::Op::Exists, "", {}};
    }
    if (!is_label_key(r.key)) {
      why = "\"" + part + "\" is not a label requirement" + expected;
      return std::nullopt;
    }
    std::vector<std::string> values = r.values;
    if (r.op != LabelRequirement::Op::In && r.op != LabelRequirement::Op::NotIn) values = {r.value};
    for (const std::string& v : values) {
      if (!is_label_value(v)) {
        why = "\"" + v + "\" is not a label value (at most 63 letters, digits, '-', '_' and '.', starting and "
              "ending with a letter or digit)";
        return std::nullopt;
      }
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
  for (const std::string& part : split(text, ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos || !is_label_key(part.substr(0, eq)) || !is_label_value(part.substr(eq + 1))) {
      return std::nullopt;
    }
    out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

}  // namespace banger
