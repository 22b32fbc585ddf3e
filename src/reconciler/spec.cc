#include "reconciler/spec.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "resources/names.h"

namespace banger {

const std::string* ResourceSpec::get(const std::string& field) const {
  for (const auto& f : fields) {
    if (f.name == field) return &f.value;
  }
  return nullptr;
}

std::string ResourceSpec::hash() const {
  std::string all;
  for (const auto& f : fields) all += f.name + '\0' + f.value + '\0';
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(all)));
  return buf;
}

std::string ResourceSpec::fields_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& f : fields) j[f.name] = f.value;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<std::vector<SpecField>> ResourceSpec::fields_from_json(const std::string& json) {
  std::vector<SpecField> out;
  auto j = nlohmann::ordered_json::parse(json, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return std::nullopt;
    out.push_back({it.key(), it.value().get<std::string>()});
  }
  return out;
}

}  // namespace banger
