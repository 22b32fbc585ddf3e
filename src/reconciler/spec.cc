#include "reconciler/spec.h"

#include <cstdio>
#include <string_view>
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
  // FNV-1a streams: hashing each piece in turn equals hashing
  // "name\0value\0..." at once, without building that string (the diff
  // hashes every resource).
  const std::string_view nul("\0", 1);
  uint64_t h = fnv1a64({});
  for (const auto& f : fields) h = fnv1a64(nul, fnv1a64(f.value, fnv1a64(nul, fnv1a64(f.name, h))));
  return hex64(h);
}

std::string ResourceSpec::fields_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& f : fields) j[f.name] = f.value;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

// The form fields_json() writes: {"name":"value",...} with no \u escapes
// (dump() writes UTF-8 as is). Parsed by hand because get and diff read it
// for every record, and nlohmann took 40% of `banger get` at a thousand VMs.
// Anything else (a \u escape, a number, a repeated name, bad syntax) is
// nullopt here and goes to nlohmann, which decides.
std::optional<std::vector<SpecField>> fields_fast(std::string_view in) {
  // Control characters are invalid JSON; bytes of multibyte UTF-8 go to
  // nlohmann, which checks that they are valid.
  auto ok_byte = [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x80;
  };
  size_t i = 0;
  auto ws = [&] {
    while (i < in.size() && (in[i] == ' ' || in[i] == '\n' || in[i] == '\t' || in[i] == '\r')) ++i;
  };
  auto str = [&](std::string& out) -> bool {
    if (i >= in.size() || in[i] != '"') return false;
    ++i;
    for (;;) {
      const size_t start = i;
      while (i < in.size() && in[i] != '"' && in[i] != '\\' && ok_byte(in[i])) ++i;
      out.append(in.substr(start, i - start));
      if (i >= in.size() || !ok_byte(in[i])) return false;
      if (in[i] == '"') {
        ++i;
        return true;
      }
      if (++i >= in.size()) return false;
      switch (in[i++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: return false;  // \u and anything odd: nlohmann's job
      }
    }
  };
  std::vector<SpecField> out;
  ws();
  if (i >= in.size() || in[i++] != '{') return std::nullopt;
  ws();
  if (i < in.size() && in[i] == '}') {
    ++i;
  } else {
    for (;;) {
      SpecField f;
      ws();
      if (!str(f.name)) return std::nullopt;
      ws();
      if (i >= in.size() || in[i++] != ':') return std::nullopt;
      ws();
      if (!str(f.value)) return std::nullopt;
      for (const SpecField& seen : out)
        if (seen.name == f.name) return std::nullopt;
      out.push_back(std::move(f));
      ws();
      if (i < in.size() && in[i] == ',') {
        ++i;
        continue;
      }
      if (i < in.size() && in[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  ws();
  if (i != in.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::vector<SpecField>> ResourceSpec::fields_from_json(const std::string& json) {
  if (auto fast = fields_fast(json)) return fast;
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
