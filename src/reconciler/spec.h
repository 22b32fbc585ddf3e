// A resource reduced to what diff needs: a key and an ordered list of
// field = value strings. The same shape is stored in the state DB when a
// resource is applied, so a later diff can say `memory: 256Mi -> 512Mi`.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <vector>

#include "resources/model.h"

namespace banger {

struct ResourceKey {
  Kind kind{};
  std::string name;
  std::string str() const { return std::string(kind_name(kind)) + "/" + name; }
  friend auto operator<=>(const ResourceKey&, const ResourceKey&) = default;
  friend bool operator==(const ResourceKey&, const ResourceKey&) = default;
};

struct SpecField {
  std::string name;
  std::string value;
  friend bool operator==(const SpecField&, const SpecField&) = default;
};

struct ResourceSpec {
  ResourceKey key;
  std::string source_file;
  std::vector<SpecField> fields;

  const std::string* get(const std::string& field) const;
  /// Stable over runs and builds (FNV-1a over fields), "" never.
  std::string hash() const;
  /// {"field": "value", ...} in field order.
  std::string fields_json() const;
  /// nullopt when `json` is not a flat object of strings (applied_fields
  /// turns that into an error naming the record).
  static std::optional<std::vector<SpecField>> fields_from_json(const std::string& json);
};

}  // namespace banger
