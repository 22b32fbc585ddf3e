#include "resources/yaml_scalar.h"

#include <cerrno>
#include <cstdlib>
#include <regex>

namespace banger {

namespace {
bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool is_float_word(const std::string& s) {
  // Every float word starts with a digit or '.', after an optional sign:
  // most scalars ("banger.dev/v1", names) are turned away here without the
  // regex, which cost 5% of loading a thousand-VM fleet.
  const size_t first = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (first >= s.size() || !(s[first] == '.' || (s[first] >= '0' && s[first] <= '9'))) return false;
  static const std::regex re(
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  return std::regex_match(s, re);
}

// YAML 1.2 core ints: decimal with optional sign, 0o octal, 0x hex.
bool parse_int_word(const std::string& s, ScalarValue& out) {
  int base = 10;
  std::string digits = s;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    digits = s.substr(2);
    for (char c : digits) {
      bool ok = base == 8 ? (c >= '0' && c <= '7') : std::isxdigit(static_cast<unsigned char>(c));
      if (!ok) return false;
    }
  } else {
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size()) return false;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
  }
  errno = 0;
  out.integer = std::strtoll(digits.c_str(), nullptr, base);
  out.int_overflow = errno == ERANGE;
  return true;
}
}  // namespace

ScalarValue read_scalar(const YAML::Node& n) {
  ScalarValue v;
  if (!n.IsDefined() || n.IsNull()) return v;
  if (n.IsSequence()) return v.type = YamlType::List, v;
  if (n.IsMap()) return v.type = YamlType::Mapping, v;
  if (!n.IsScalar()) return v.type = YamlType::Other, v;
  v.text = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return v.type = YamlType::String, v;
  if (tag != "?" && !tag.empty()) return v.type = YamlType::Other, v;
  if (is_null_word(v.text)) return v.type = YamlType::Null, v;
  if (v.text == "true" || v.text == "True" || v.text == "TRUE") {
    v.boolean = true;
    return v.type = YamlType::Bool, v;
  }
  if (v.text == "false" || v.text == "False" || v.text == "FALSE") return v.type = YamlType::Bool, v;
  if (parse_int_word(v.text, v)) return v.type = YamlType::Int, v;
  if (is_float_word(v.text)) return v.type = YamlType::Float, v;
  return v.type = YamlType::String, v;
}

YamlType yaml_type(const YAML::Node& n) { return read_scalar(n).type; }

const char* type_noun(YamlType t) {
  switch (t) {
    case YamlType::Null: return "empty";
    case YamlType::Bool: return "a boolean";
    case YamlType::Int: return "an integer";
    case YamlType::Float: return "a number";
    case YamlType::String: return "a string";
    case YamlType::List: return "a list";
    case YamlType::Mapping: return "a mapping";
    case YamlType::Other: return "a tagged value";
  }
  return "?";
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 if invalid.
size_t utf8_length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  }
  return n;
}

std::string escape(std::string_view s, size_t max_chars, bool quote_marks) {
  std::string out;
  size_t shown = 0;
  for (size_t i = 0; i < s.size();) {
    if (++shown > max_chars) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_length(s, i);
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    if (quote_marks && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}
}  // namespace

std::string quote(std::string_view s) { return "\"" + escape(s, 60, true) + "\""; }

std::string printable(std::string_view s) { return escape(s, SIZE_MAX, false); }

std::string describe_value(const YAML::Node& n) {
  ScalarValue v = read_scalar(n);
  switch (v.type) {
    case YamlType::String: return quote(v.text);
    case YamlType::Int:
    case YamlType::Float:
    case YamlType::Bool: return v.text.size() > 60 ? quote(v.text) : v.text;
    default: return type_noun(v.type);
  }
}

Mark to_mark(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return Mark{file, 1, 1};
  return Mark{file, m.line + 1, m.column + 1};
}

}  // namespace banger
