// Reads one YAML document field by field, turning every problem into a
// Diagnostic with file, position, resource and field path. Checks that
// yaml-cpp skips: duplicate keys (it keeps both silently) and unknown keys.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "resources/diagnostic.h"
#include "resources/model.h"

namespace banger {

class DocReader {
 public:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  /// A mapping after duplicate/unknown-key checks. ok is false when the node
  /// was absent or not a mapping (that was reported when required).
  struct MapView {
    bool ok = false;
    std::string path;  ///< "spec", "spec.readiness"
    Mark mark;         ///< the mapping's own place, for "x is required"
    /// In document order. A handful of keys: a linear search beats a tree,
    /// and the vector is one allocation (a thousand-VM fleet reads ~20,000 maps).
    std::vector<std::pair<std::string, Entry>> entries;
    const Entry* find(const std::string& key) const;
    std::string field(const std::string& key) const { return path.empty() ? key : path + "." + key; }
  };

  /// Why a value was refused: `what` ("\"x\" is not a valid CIDR") and an
  /// optional `hint` ("did you mean ...?") that follows what was expected.
  struct Problem {
    std::string what;
    std::string hint;
  };
  template <class T>
  using Parse = std::function<bool(const YAML::Node&, T&, Problem&)>;

  DocReader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  void set_subject(std::string kind, std::string name) {
    kind_ = std::move(kind);
    name_ = std::move(name);
  }
  const std::string& file() const { return file_; }
  /// The manifest's folder: relative paths in it start there.
  void set_base_dir(std::string dir) { base_dir_ = std::move(dir); }
  const std::string& base_dir() const { return base_dir_; }
  Mark mark(const YAML::Node& n) const;
  /// Where an entry's value is; for an empty value, where its key is
  /// (yaml-cpp gives an empty value the position of the next token).
  Mark value_mark(const Entry& e) const;
  void error(const Mark& at, const std::string& field, const std::string& message);

  /// `where` is reported when node is not a mapping (the key's position).
  MapView read_map(const YAML::Node& node, const std::string& path, const Mark& where,
                   const std::vector<std::string>& allowed);

  /// Fills `out` from map[key]. Absent: error if required, else `out` keeps
  /// its default and set stays false. Returns true when a valid value was read.
  template <class T>
  bool get(const MapView& m, const std::string& key, Field<T>& out,
           const std::type_identity_t<Parse<T>>& parse,
           std::string_view expected, bool required) {
    const Entry* e = m.find(key);
    if (!e) {
      out.mark = m.mark;
      if (required && m.ok) error(m.mark, m.field(key), "is required (expected " + std::string(expected) + ")");
      return false;
    }
    out.mark = value_mark(*e);
    T value{};
    Problem problem;
    if (!parse(e->value, value, problem)) {
      error(out.mark, m.field(key),
            problem.what + " (expected " + std::string(expected) +
                (problem.hint.empty() ? "" : "; " + problem.hint) + ")");
      return false;
    }
    out.value = std::move(value);
    out.set = true;
    return true;
  }

  // Parsers for the shapes manifests use.
  static bool parse_string(const YAML::Node& n, std::string& out, Problem& problem);
  static bool parse_bool(const YAML::Node& n, bool& out, Problem& problem);
  /// An integer of the core schema within [min, max].
  template <class I>
  static Parse<I> integer(long long min, long long max) {
    return [min, max](const YAML::Node& n, I& out, Problem& problem) {
      long long v = 0;
      if (!parse_integer(n, min, max, v, problem)) return false;
      out = static_cast<I>(v);
      return true;
    };
  }
  static bool parse_integer(const YAML::Node& n, long long min, long long max, long long& out,
                            Problem& problem);
  /// "is a list", "\"x\" is a string", "is empty": the first half of a type error.
  static std::string wrong_type(const YAML::Node& n);

 private:
  std::string file_;
  std::string base_dir_;
  std::string kind_, name_;
  Diagnostics& diags_;
};

/// An enum from its spelling, e.g. {{"running", VmState::Running}, ...}.
template <class E>
DocReader::Parse<E> enum_parser(std::vector<std::pair<std::string, E>> options);
/// "one of: a, b, c"
std::string one_of(const std::vector<std::string>& options);

}  // namespace banger

#include "resources/doc_reader_enum.h"
