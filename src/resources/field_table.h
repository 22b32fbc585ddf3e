// The field table: one entry per manifest field of a kind, the single place
// that says what the field is. Each entry gives its YAML key, how it is read
// (parser, rule, default, required), its JSON Schema, its documentation, and
// the values diff, plan, `get` and the state DB show for it, each with its
// effect on a running VM. The decoder, the allowed-key check, the diff's
// field list and effects, `banger explain` and schemas/ (via
// tests/schema/gen_schemas.py reading `banger explain -o json`) all derive
// from it. docs/adding-a-field.md walks through adding one.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "resources/doc_reader.h"
#include "resources/label_selector.h"
#include "resources/model.h"
#include "resources/quantity.h"

namespace banger {

/// How a change to one shown value is carried out.
enum class FieldEffect {
  InPlace,  ///< recorded, or applied live (nat on/off, a forward's rule)
  Restart,  ///< the VM must be stopped and started again
  Replace,  ///< the object is destroyed and made again (a VM's disk, a bridge)
};
const char* to_string(FieldEffect e);  ///< "in-place", "restart", "replace"

/// One value of a resource as diff, plan and `get` show it and the state DB
/// stores it ("memory" = "512Mi"). A field may show several (`kernel` also
/// shows what the kernel boots from) or none (`url` is shown as `source`).
template <class R>
struct Shown {
  std::string name;
  FieldEffect effect = FieldEffect::InPlace;
  /// nullopt: not shown for this resource (a Kernel without initrd).
  std::function<std::optional<std::string>(const R&, const ManifestSet&)> render;
  /// The way back, for the state DB's copy: sets the member from `text`;
  /// false when text is not what render writes. Null for a value derived
  /// from other resources (a VM's kernelSource), which is never read back.
  std::function<bool(const std::string& text, R&)> read = nullptr;
  /// The value when the field is not written. A record from a build that
  /// did not have this field yet holds no value for it; diff takes that as
  /// this default, so adding a field does not turn every resource into an
  /// update.
  std::optional<std::string> default_text = std::nullopt;
};

/// How a value of type T is written as text (diff, state DB) and read back.
template <class T>
struct TextForm {
  std::function<std::string(const T&)> write;
  std::function<std::optional<T>(const std::string&)> read;
};
TextForm<std::string> string_text();
TextForm<int> int_text();
TextForm<uint16_t> port_text();
TextForm<bool> bool_text();
TextForm<Cidr> cidr_text();
TextForm<Ipv4> ipv4_text();
TextForm<uint64_t> size_text();  ///< "512Mi"
template <class E>
TextForm<E> enum_text() {
  return {[](const E& v) { return std::string(enum_name(v)); },
          [](const std::string& s) -> std::optional<E> {
            for (const auto& [name, value] : enum_names<E>()) {
              if (name == s) return value;
            }
            return std::nullopt;
          }};
}

template <class R>
struct FieldDef {
  std::string key;   ///< YAML key under spec
  std::string rule;  ///< what a valid value is, as errors say "(expected ...)"
  bool required = false;
  std::string doc;   ///< one or two sentences: schema description, explain
  /// The value's JSON Schema without its description (the generator adds doc).
  nlohmann::ordered_json schema;
  std::function<void(DocReader&, const DocReader::MapView&, R&)> decode;
  std::vector<Shown<R>> shown;
  /// What a change does, for `explain`, when the field shows no value of
  /// its own (placement decides where a resource is, not what it is).
  std::string change_note = "";
};

/// A kind's fields in YAML order (the order "expected one of" lists them),
/// plus the rules that span fields (exactly one of path and url).
template <class R>
struct KindFields {
  std::string doc;  ///< what a spec of this kind describes
  std::vector<FieldDef<R>> fields;
  std::function<void(DocReader&, const DocReader::MapView&, R&)> check;
  /// Values from metadata rather than spec (a VM's labels): compared and
  /// recorded like the fields' own, so that selectors can read them back.
  std::vector<Shown<R>> meta;

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.key);
    return out;
  }
  void decode(DocReader& r, const DocReader::MapView& spec, R& out) const {
    if (!spec.ok) return;
    for (const auto& f : fields) f.decode(r, spec, out);
    if (check) check(r, spec, out);
  }
  /// The shown values, in table order: what diff compares.
  std::vector<std::pair<std::string, std::string>> render(const R& res, const ManifestSet& set) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : fields) {
      for (const auto& s : f.shown) {
        if (auto v = s.render(res, set)) out.emplace_back(s.name, *v);
      }
    }
    for (const auto& s : meta) {
      if (auto v = s.render(res, set)) out.emplace_back(s.name, *v);
    }
    return out;
  }
  /// The shown value `name`, for reading a stored spec back.
  const Shown<R>* find_shown(const std::string& name) const {
    for (const auto& f : fields) {
      for (const auto& s : f.shown) {
        if (s.name == name) return &s;
      }
    }
    for (const auto& s : meta) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }
  std::optional<FieldEffect> effect(const std::string& shown_name) const {
    const Shown<R>* s = find_shown(shown_name);
    return s ? std::optional<FieldEffect>(s->effect) : std::nullopt;
  }
};

// ---- building entries ------------------------------------------------------

/// What a plain field declares; scalar() derives decode, rule and schema
/// default from it.
template <class T>
struct ScalarSpec {
  std::string key;
  std::string rule;
  std::string doc;
  nlohmann::ordered_json schema;
  bool required = false;
  std::optional<T> def = std::nullopt;  ///< the value when not written
  FieldEffect effect = FieldEffect::InPlace;
  bool shown = true;  ///< false: part of another field's shown value
};

/// A member shown as itself, and read back into itself.
template <class R, class T>
Shown<R> shown_member(std::string name, FieldEffect effect, Field<T> R::*member, TextForm<T> text,
                      const std::optional<T>& def) {
  std::optional<std::string> def_text;
  if (def) def_text = text.write(*def);
  return {std::move(name), effect,
          [member, w = text.write](const R& res, const ManifestSet&) {
            return std::optional<std::string>(w((res.*member).value));
          },
          [member, r = text.read](const std::string& t, R& out) {
            auto v = r(t);
            if (v) (out.*member) = {*v, {}, true};
            return v.has_value();
          },
          def_text};
}

/// The default as the schema writes it: what a user would type in YAML.
template <class T>
nlohmann::ordered_json yaml_json(const T& v, const TextForm<T>& text) {
  if constexpr (std::is_same_v<T, bool> || (std::is_integral_v<T> && !std::is_same_v<T, uint64_t>)) {
    return v;
  } else {
    return text.write(v);  // sizes are written "512Mi", as in a manifest
  }
}

/// A field held in `Field<T> R::*member`, read from YAML by `parse`, shown
/// and stored as `text`.
template <class R, class T>
FieldDef<R> scalar(ScalarSpec<T> s, Field<T> R::*member, DocReader::Parse<T> parse, TextForm<T> text) {
  FieldDef<R> d;
  d.key = s.key;
  d.rule = s.rule;
  d.required = s.required;
  d.doc = s.doc;
  d.schema = std::move(s.schema);
  if (s.def) d.schema["default"] = yaml_json(*s.def, text);
  std::string key = s.key, rule = s.rule;
  bool required = s.required;
  std::optional<T> def = s.def;
  d.decode = [=](DocReader& r, const DocReader::MapView& m, R& out) {
    if (def) (out.*member).value = *def;
    r.get(m, key, out.*member, parse, rule, required);
  };
  if (s.shown) d.shown.push_back(shown_member<R, T>(s.key, s.effect, member, std::move(text), s.def));
  return d;
}

/// An enum field: its names, rule and schema come from enum_names<E>().
template <class R, class E>
FieldDef<R> enum_field(ScalarSpec<E> s, Field<E> R::*member) {
  std::vector<std::string> names;
  for (const auto& [name, value] : enum_names<E>()) names.push_back(name);
  s.rule = one_of(names);
  s.schema = nlohmann::ordered_json{{"type", "string"}, {"enum", names}};
  return scalar<R, E>(std::move(s), member, enum_parser<E>(enum_names<E>()), enum_text<E>());
}

/// An entry of a nested table (an artifact's path) as an entry of R, whose
/// member `part` holds the nested value.
template <class R, class P>
FieldDef<R> lift(const FieldDef<P>& f, P R::*part) {
  FieldDef<R> d{f.key, f.rule, f.required, f.doc, f.schema, {}, {}, f.change_note};
  auto decode = f.decode;
  d.decode = [decode, part](DocReader& r, const DocReader::MapView& m, R& out) { decode(r, m, out.*part); };
  for (const Shown<P>& s : f.shown) {
    auto render = s.render;
    auto read = s.read;
    d.shown.push_back({s.name, s.effect,
                       [render, part](const R& res, const ManifestSet& set) { return render(res.*part, set); },
                       read ? std::function<bool(const std::string&, R&)>(
                                  [read, part](const std::string& t, R& out) { return read(t, out.*part); })
                            : nullptr});
  }
  return d;
}

/// metadata.labels as a shown value ("app=web,tier=db"): recorded, so that
/// `get -l`, `--show-labels` and `exec -l` read them from the state alone;
/// a change is only recorded (in place). Not shown when there are none, so
/// that records from before it need no update.
template <class R>
Shown<R> labels_shown() {
  return {"labels", FieldEffect::InPlace,
          [](const R& r, const ManifestSet&) {
            return r.metadata.labels.empty() ? std::optional<std::string>()
                                             : std::optional<std::string>(format_labels(r.metadata.labels));
          },
          [](const std::string& t, R& r) {
            auto l = parse_labels(t);
            if (l) r.metadata.labels = *l;
            return l.has_value();
          }};
}

// ---- the tables (fields_*.cc) -----------------------------------------------

const KindFields<Network>& network_fields();
/// Network.spec.dns as diff shows it and the state DB keeps it ("off",
/// "domain vm", "domain vm, upstreams 1.1.1.1"), and back.
std::string dns_text(const NetworkDns& d);
std::optional<NetworkDns> parse_dns_text(const std::string& t);
const KindFields<Kernel>& kernel_fields();
const KindFields<Image>& image_fields();
const KindFields<VM>& vm_fields();
const KindFields<PortForward>& port_forward_fields();

/// Calls fn(kind's table): the one switch from a Kind to its field table.
template <class F>
decltype(auto) with_kind_fields(Kind kind, F&& fn) {
  switch (kind) {
    case Kind::Network: return fn(network_fields());
    case Kind::Kernel: return fn(kernel_fields());
    case Kind::Image: return fn(image_fields());
    case Kind::VM: return fn(vm_fields());
    case Kind::PortForward: break;
  }
  return fn(port_forward_fields());
}

/// The effect of changing shown value `name` of a resource of `kind`;
/// InPlace for a name the table does not show (an older build's field).
FieldEffect field_effect(Kind kind, const std::string& name);
/// Shown value `name`'s text when its field is not written (Shown::default_text).
std::optional<std::string> field_default(Kind kind, const std::string& name);

/// The table of a kind without its C++ types: for explain and the schema
/// generator. {"kind", "doc", "fields": [{"key", "rule", "required", "doc",
/// "schema", "shows": [{"name", "effect"}]}]}
nlohmann::ordered_json describe_fields(Kind kind);
/// The same for `kind: Node`, which has no spec: {"kind": "Node", "doc", "fields": []}.
nlohmann::ordered_json describe_node();

}  // namespace banger
