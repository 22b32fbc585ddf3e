#include "resources/doc_reader.h"

#include <algorithm>

#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

const DocReader::Entry* DocReader::MapView::find(const std::string& key) const {
  for (const auto& [k, e] : entries) {
    if (k == key) return &e;
  }
  return nullptr;
}

Mark DocReader::mark(const YAML::Node& n) const { return to_mark(file_, n.Mark()); }

Mark DocReader::value_mark(const Entry& e) const {
  if (!e.value.IsDefined() || e.value.IsNull()) return mark(e.key);
  return mark(e.value);
}

void DocReader::error(const Mark& at, const std::string& field, const std::string& message) {
  diags_.add(Diagnostic{at, kind_, name_, field, message});
}

std::string one_of(const std::vector<std::string>& options) {
  std::string out = "one of: ";
  for (size_t i = 0; i < options.size(); ++i) out += (i ? ", " : "") + options[i];
  return out;
}

DocReader::MapView DocReader::read_map(const YAML::Node& node, const std::string& path,
                                       const Mark& where, const std::vector<std::string>& allowed) {
  MapView view;
  view.path = path;
  view.mark = where;
  if (!node.IsMap()) {
    error(where, path, wrong_type(node) + " (expected a mapping)");
    return view;
  }
  view.ok = true;
  view.mark = mark(node);
  view.entries.reserve(node.size());
  // Keys seen but not allowed: kept out of entries (the decoders never see
  // them) yet remembered, so a repeat is reported as a duplicate, not twice
  // as unknown. The field path is built only for an error.
  std::vector<std::pair<std::string, YAML::Node>> unknown;
  auto field_of = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  for (auto it = node.begin(); it != node.end(); ++it) {
    // A copy: yaml-cpp's it-> is a proxy that dies with the expression, so a
    // reference to it->first dangles (found by ASan in make test-sanitize).
    const YAML::Node key = it->first;
    ScalarValue k = read_scalar(key);
    // Keys are compared as text; a non-scalar key can never be a field name.
    if (k.type == YamlType::List || k.type == YamlType::Mapping || k.type == YamlType::Null) {
      error(mark(key), path, std::string(k.type == YamlType::Null ? "an empty" : "a complex") +
                                 " key is not allowed (expected " + one_of(allowed) + ")");
      continue;
    }
    const YAML::Node* first = nullptr;
    if (const Entry* dup = view.find(k.text)) first = &dup->key;
    for (const auto& [name, at] : unknown) {
      if (name == k.text) first = &at;
    }
    if (first) {
      error(mark(key), field_of(k.text),
            "duplicate key (first set at line " + std::to_string(mark(*first).line) + "; keep one)");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), k.text) == allowed.end()) {
      std::string guess = suggest(k.text, allowed);
      error(mark(key), field_of(k.text),
            "unknown field (" + (guess.empty() ? "expected " + one_of(allowed)
                                               : "did you mean " + quote(guess) + "?") +
                ")");
      unknown.emplace_back(std::move(k.text), key);
      continue;
    }
    view.entries.emplace_back(std::move(k.text), Entry{key, it->second});
  }
  return view;
}

std::string DocReader::wrong_type(const YAML::Node& n) {
  ScalarValue v = read_scalar(n);
  switch (v.type) {
    case YamlType::Null: return "is empty";
    case YamlType::List:
    case YamlType::Mapping:
    case YamlType::Other: return std::string("is ") + type_noun(v.type);
    default: return describe_value(n) + " is " + type_noun(v.type);
  }
}

bool DocReader::parse_string(const YAML::Node& n, std::string& out, Problem& problem) {
  ScalarValue v = read_scalar(n);
  if (v.type != YamlType::String) {
    problem.what = wrong_type(n);
    return false;
  }
  out = v.text;
  return true;
}

bool DocReader::parse_bool(const YAML::Node& n, bool& out, Problem& problem) {
  ScalarValue v = read_scalar(n);
  if (v.type != YamlType::Bool) {
    problem.what = wrong_type(n);
    return false;
  }
  out = v.boolean;
  return true;
}

bool DocReader::parse_integer(const YAML::Node& n, long long min, long long max, long long& out,
                              Problem& problem) {
  ScalarValue v = read_scalar(n);
  if (v.type != YamlType::Int) {
    problem.what = wrong_type(n);
    return false;
  }
  if (v.int_overflow || v.integer < min || v.integer > max) {
    problem.what = v.text + " is out of range";
    return false;
  }
  out = v.integer;
  return true;
}

}  // namespace banger
