#include "body_schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>

namespace fakefc {
namespace {

// Field builders named after the Rust shape of the field.
Field req(const char* name, Kind kind) { return Field{name, kind, nullptr, true, false, {}, nullptr}; }
Field opt(const char* name, Kind kind) { return Field{name, kind, nullptr, false, true, {}, nullptr}; }
// #[serde(default)] on a non-Option field: may be missing, may not be null.
Field dflt(const char* name, Kind kind) {
  return Field{name, kind, nullptr, false, false, {}, nullptr};
}
Field with_enum(Field f, const char* type_name, std::vector<std::string> variants) {
  f.type_name = type_name;
  f.variants = std::move(variants);
  return f;
}
Field opt_obj(const char* name, const Schema* schema) {
  return Field{name, Kind::kObject, nullptr, false, true, {}, schema};
}

// x86_64 StaticCpuTemplate: V1N1 exists only on aarch64 builds.
const std::vector<std::string> kCpuTemplates = {"C3", "T2", "T2S", "None", "T2CL", "T2A"};
const std::vector<std::string> kHugePages = {"None", "2M"};

// serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
std::string one_of(const std::vector<std::string>& names) {
  if (names.size() == 1) return "`" + names[0] + "`";
  if (names.size() == 2) return "`" + names[0] + "` or `" + names[1] + "`";
  std::string s = "one of ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += "`" + names[i] + "`";
  }
  return s;
}

std::string format_float(double d) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, res.ptr);
  // serde prints floats with a decimal point (1.0, not 1).
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// serde::de::Unexpected, as displayed in "invalid type: X, expected Y".
std::string unexpected(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return std::string("boolean `") + (v.get<bool>() ? "true" : "false") + "`";
    case Json::value_t::number_integer: return "integer `" + std::to_string(v.get<int64_t>()) + "`";
    case Json::value_t::number_unsigned: return "integer `" + std::to_string(v.get<uint64_t>()) + "`";
    case Json::value_t::number_float: return "floating point `" + format_float(v.get<double>()) + "`";
    case Json::value_t::string: return "string " + v.dump();
    case Json::value_t::array: return "sequence";
    case Json::value_t::object: return "map";
    default: return "unknown";
  }
}

std::string invalid_type(const Json& v, const std::string& expected) {
  return "invalid type: " + unexpected(v) + ", expected " + expected;
}

std::optional<std::string> check_unsigned(const Json& v, uint64_t max, const char* rust) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= max) return std::nullopt;
    return "invalid value: " + unexpected(v) + ", expected " + rust;
  }
  if (v.is_number_integer()) return "invalid value: " + unexpected(v) + ", expected " + rust;
  return invalid_type(v, rust);
}

std::optional<std::string> check_value(const Json& v, const Field& f) {
  switch (f.kind) {
    case Kind::kString:
      if (!v.is_string()) return invalid_type(v, "a string");
      return std::nullopt;
    case Kind::kBool:
      if (!v.is_boolean()) return invalid_type(v, "a boolean");
      return std::nullopt;
    case Kind::kU8: return check_unsigned(v, std::numeric_limits<uint8_t>::max(), "u8");
    case Kind::kU16: return check_unsigned(v, std::numeric_limits<uint16_t>::max(), "u16");
    case Kind::kU64: return check_unsigned(v, std::numeric_limits<uint64_t>::max(), "u64");
    case Kind::kUsize: return check_unsigned(v, std::numeric_limits<uint64_t>::max(), "usize");
    case Kind::kEnum: {
      if (!v.is_string()) return invalid_type(v, std::string("enum ") + f.type_name);
      const auto& s = v.get_ref<const std::string&>();
      if (std::find(f.variants.begin(), f.variants.end(), s) == f.variants.end()) {
        return "unknown variant `" + s + "`, expected " + one_of(f.variants);
      }
      return std::nullopt;
    }
    case Kind::kLevel: {
      if (!v.is_string()) return invalid_type(v, "a string");
      std::string s = v.get<std::string>();
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      static const std::set<std::string> ok = {"off", "trace", "debug", "info", "warn", "warning", "error"};
      if (!ok.count(s)) return std::string("Invalid LevelFilter");
      return std::nullopt;
    }
    case Kind::kMac: {
      if (!v.is_string()) return invalid_type(v, "a string");
      unsigned char bytes[6];
      if (!parse_mac(v.get<std::string>(), bytes)) return std::string("The provided MAC address is invalid.");
      return std::nullopt;
    }
    case Kind::kObject: return check_schema(v, *f.object);
  }
  return std::nullopt;
}

}  // namespace

namespace schemas {
// TokenBucketConfig has no deny_unknown_fields in Firecracker; the double is
// stricter on purpose (an unknown key there is a client bug all the same).
const Schema kTokenBucket{"TokenBucketConfig",
                          {req("size", Kind::kU64), opt("one_time_burst", Kind::kU64),
                           req("refill_time", Kind::kU64)}};
const Schema kRateLimiter{"RateLimiterConfig",
                          {opt_obj("bandwidth", &kTokenBucket), opt_obj("ops", &kTokenBucket)}};

const Schema kBootSource{"BootSourceConfig",
                         {req("kernel_image_path", Kind::kString), opt("initrd_path", Kind::kString),
                          opt("boot_args", Kind::kString)}};

const Schema kMachineConfig{
    "MachineConfig",
    {req("vcpu_count", Kind::kU8), req("mem_size_mib", Kind::kUsize), dflt("smt", Kind::kBool),
     with_enum(opt("cpu_template", Kind::kEnum), "StaticCpuTemplate", kCpuTemplates),
     dflt("track_dirty_pages", Kind::kBool),
     with_enum(dflt("huge_pages", Kind::kEnum), "HugePageConfig", kHugePages)}};

const Schema kMachineConfigUpdate{
    "MachineConfigUpdate",
    {opt("vcpu_count", Kind::kU8), opt("mem_size_mib", Kind::kUsize), opt("smt", Kind::kBool),
     with_enum(opt("cpu_template", Kind::kEnum), "StaticCpuTemplate", kCpuTemplates),
     opt("track_dirty_pages", Kind::kBool),
     with_enum(opt("huge_pages", Kind::kEnum), "HugePageConfig", kHugePages)}};

const Schema kDrive{
    "BlockDeviceConfig",
    {req("drive_id", Kind::kString), opt("partuuid", Kind::kString), req("is_root_device", Kind::kBool),
     with_enum(dflt("cache_type", Kind::kEnum), "CacheType", {"Unsafe", "Writeback"}),
     opt("is_read_only", Kind::kBool), opt("path_on_host", Kind::kString),
     opt_obj("rate_limiter", &kRateLimiter),
     with_enum(opt("io_engine", Kind::kEnum), "FileEngineType", {"Async", "Sync"}),
     opt("socket", Kind::kString)}};

const Schema kPartialDrive{"BlockDeviceUpdateConfig",
                           {req("drive_id", Kind::kString), opt("path_on_host", Kind::kString),
                            opt_obj("rate_limiter", &kRateLimiter)}};

const Schema kNetworkInterface{
    "NetworkInterfaceConfig",
    {req("iface_id", Kind::kString), req("host_dev_name", Kind::kString), opt("guest_mac", Kind::kMac),
     opt("mtu", Kind::kU16), opt_obj("rx_rate_limiter", &kRateLimiter),
     opt_obj("tx_rate_limiter", &kRateLimiter)}};

const Schema kPartialNetworkInterface{
    "NetworkInterfaceUpdateConfig",
    {req("iface_id", Kind::kString), opt_obj("rx_rate_limiter", &kRateLimiter),
     opt_obj("tx_rate_limiter", &kRateLimiter)}};

const Schema kLogger{"LoggerConfig",
                     {opt("log_path", Kind::kString), opt("level", Kind::kLevel),
                      opt("show_level", Kind::kBool), opt("show_log_origin", Kind::kBool),
                      opt("module", Kind::kString)}};

// MetricsConfig has no deny_unknown_fields in Firecracker either; strict here too.
const Schema kMetrics{"MetricsConfig", {req("metrics_path", Kind::kString)}};

const Schema kAction{
    "ActionBody",
    {with_enum(req("action_type", Kind::kEnum), "ActionType",
               {"FlushMetrics", "InstanceStart", "SendCtrlAltDel"})}};

const Schema kVm{"Vm", {with_enum(req("state", Kind::kEnum), "VmState", {"Paused", "Resumed"})}};
}  // namespace schemas

std::optional<std::string> parse_body(const std::string& text, Json& out) {
  // One set of seen keys per open object (arrays push an unused set) so that
  // duplicates are caught at any depth.
  std::vector<std::set<std::string>> seen;
  std::optional<std::string> duplicate;
  Json::parser_callback_t cb = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: seen.emplace_back(); break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = "duplicate field `" + parsed.get<std::string>() + "`";
        }
        break;
      default: break;
    }
    return true;
  };
  try {
    out = Json::parse(text, cb);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    auto pos = what.find("] ");
    return pos == std::string::npos ? what : what.substr(pos + 2);
  }
  return duplicate;
}

std::optional<std::string> check_schema(const Json& value, const Schema& schema) {
  if (!value.is_object()) return invalid_type(value, std::string("struct ") + schema.rust_name);
  for (const auto& [key, v] : value.items()) {
    const Field* field = nullptr;
    for (const auto& f : schema.fields) {
      if (key == f.name) field = &f;
    }
    if (!field) {
      std::vector<std::string> names;
      for (const auto& f : schema.fields) names.emplace_back(f.name);
      return "unknown field `" + key + "`, expected " + one_of(names);
    }
    if (v.is_null() && field->nullable) continue;
    if (auto err = check_value(v, *field)) return err;
  }
  for (const auto& f : schema.fields) {
    if (f.required && !value.contains(f.name)) return std::string("missing field `") + f.name + "`";
  }
  return std::nullopt;
}

Json without_nulls(const Json& object) {
  Json out = Json::object();
  for (const auto& [key, v] : object.items()) {
    if (!v.is_null()) out[key] = v;
  }
  return out;
}

bool parse_mac(const std::string& text, unsigned char bytes[6]) {
  size_t start = 0;
  for (int i = 0; i < 6; ++i) {
    size_t end = text.find(':', start);
    if ((i < 5) != (end != std::string::npos)) return false;
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.size() != 2) return false;
    // u8::from_str_radix accepts a leading '+', so "+a" is a valid group.
    std::string digits = part[0] == '+' ? part.substr(1) : part;
    unsigned value = 0;
    for (char c : digits) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
      value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                                     ? c - '0'
                                                     : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    bytes[i] = static_cast<unsigned char>(value);
    start = end + 1;
  }
  return true;
}

std::string format_mac(const unsigned char bytes[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

}  // namespace fakefc
