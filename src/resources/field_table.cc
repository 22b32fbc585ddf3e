#include "resources/field_table.h"

#include <algorithm>

namespace banger {

TextForm<std::string> string_text() {
  return {[](const std::string& s) { return s; }, [](const std::string& s) { return std::optional(s); }};
}

namespace {
// Digits only, as std::to_string writes them: "080", "+1" and "" are not.
std::optional<long long> decimal(const std::string& s, long long min, long long max) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit) || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  long long v = std::stoll(s);
  if (v < min || v > max) return std::nullopt;
  return v;
}
}  // namespace

TextForm<int> int_text() {
  return {[](const int& n) { return std::to_string(n); },
          [](const std::string& s) -> std::optional<int> {
            if (auto v = decimal(s, 0, INT32_MAX)) return static_cast<int>(*v);
            return std::nullopt;
          }};
}

TextForm<uint16_t> port_text() {
  return {[](const uint16_t& n) { return std::to_string(n); },
          [](const std::string& s) -> std::optional<uint16_t> {
            if (auto v = decimal(s, 1, 65535)) return static_cast<uint16_t>(*v);
            return std::nullopt;
          }};
}

TextForm<bool> bool_text() {
  return {[](const bool& b) { return std::string(b ? "true" : "false"); },
          [](const std::string& s) -> std::optional<bool> {
            if (s == "true" || s == "false") return s == "true";
            return std::nullopt;
          }};
}

TextForm<Cidr> cidr_text() {
  return {[](const Cidr& c) { return c.str(); },
          [](const std::string& s) -> std::optional<Cidr> {
            auto c = parse_cidr(s);
            if (c && c->base == c->network()) return c;  // as value_parsers' parse_subnet
            return std::nullopt;
          }};
}

TextForm<Ipv4> ipv4_text() {
  return {[](const Ipv4& a) { return a.str(); }, [](const std::string& s) { return parse_ipv4(s); }};
}

TextForm<uint64_t> size_text() {
  return {[](const uint64_t& b) { return format_size(b); }, [](const std::string& s) { return parse_size(s); }};
}

const char* to_string(FieldEffect e) {
  switch (e) {
    case FieldEffect::InPlace: return "in-place";
    case FieldEffect::Restart: return "restart";
    case FieldEffect::Replace: return "replace";
  }
  return "?";
}

namespace {

template <class R>
nlohmann::ordered_json describe(Kind kind, const KindFields<R>& t) {
  nlohmann::ordered_json fields = nlohmann::ordered_json::array();
  for (const auto& f : t.fields) {
    nlohmann::ordered_json shows = nlohmann::ordered_json::array();
    for (const auto& s : f.shown) shows.push_back({{"name", s.name}, {"effect", to_string(s.effect)}});
    nlohmann::ordered_json field = {{"key", f.key},         {"rule", f.rule},     {"required", f.required},
                                    {"doc", f.doc},         {"schema", f.schema}, {"shows", shows}};
    if (!f.change_note.empty()) field["onChange"] = f.change_note;
    fields.push_back(std::move(field));
  }
  return {{"kind", kind_name(kind)}, {"doc", t.doc}, {"fields", fields}};
}

}  // namespace

FieldEffect field_effect(Kind kind, const std::string& name) {
  return with_kind_fields(kind, [&](const auto& table) {
    return table.effect(name).value_or(FieldEffect::InPlace);
  });
}

std::optional<std::string> field_default(Kind kind, const std::string& name) {
  return with_kind_fields(kind, [&](const auto& table) -> std::optional<std::string> {
    const auto* s = table.find_shown(name);
    return s ? s->default_text : std::nullopt;
  });
}

nlohmann::ordered_json describe_fields(Kind kind) {
  return with_kind_fields(kind, [&](const auto& table) { return describe(kind, table); });
}

nlohmann::ordered_json describe_node() {
  return {{"kind", kNodeKind},
          {"doc", "A host of the fleet (typically listed in nodes.yaml): its name is a host's --node-name, its "
                  "labels what placement.nodeSelector matches. Only checked against: a placement that no declared "
                  "Node takes is an error. Never recorded or converged."},
          {"fields", nlohmann::ordered_json::array()}};
}

}  // namespace banger
