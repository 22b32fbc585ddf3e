// How a YAML node reads as data. yaml-cpp keeps every scalar as text; this
// applies the YAML 1.2 core schema (what JSON Schema tools and Kubernetes see)
// so that `vcpus: "2"` is a string and `name: 123` is a number, as an editor
// with the JSON schemas in schemas/ would say.
#pragma once

#include <string>
#include <yaml-cpp/yaml.h>

#include "resources/diagnostic.h"

namespace banger {

enum class YamlType { Null, Bool, Int, Float, String, List, Mapping, Other };

struct ScalarValue {
  YamlType type = YamlType::Null;
  bool boolean = false;
  long long integer = 0;
  bool int_overflow = false;  ///< an integer too large for 64 bits
  std::string text;           ///< the scalar as written (after YAML unquoting)
};

/// Types a node: collections by shape, scalars by the core schema; a quoted
/// scalar or one tagged !!str is always a string.
ScalarValue read_scalar(const YAML::Node& n);
YamlType yaml_type(const YAML::Node& n);

/// For messages: `"abc"` for strings, `42` for numbers, `a list` / `a mapping`.
std::string describe_value(const YAML::Node& n);
/// "a string", "an integer", "a boolean", "a list", "a mapping", "empty".
const char* type_noun(YamlType t);
/// JSON-style quoted, control characters and invalid UTF-8 escaped, cut at 60 characters.
std::string quote(std::string_view s);
/// The same escaping without quotes or cut: safe to print on a terminal.
std::string printable(std::string_view s);

/// yaml-cpp marks are 0-based and a null node has none; n may be undefined.
Mark to_mark(const std::string& file, const YAML::Mark& m);

}  // namespace banger
