// Request-body checks that reproduce what Firecracker's serde structs accept
// (deny_unknown_fields, required fields, Rust integer widths, enum variants),
// with serde_json's wording in the error text. The structs follow the swagger
// definitions of firecracker-api.yaml v1.16.1 and the Rust types behind them.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fakefc {

// ordered_json keeps the client's key order, which matters both for serde's
// "first error wins" order and for the request record.
using Json = nlohmann::ordered_json;

enum class Kind {
  kString,
  kBool,
  kU8,
  kU16,
  kU64,
  kUsize,
  kEnum,       // a Rust unit enum: a JSON string naming a variant
  kLevel,      // LevelFilter: a string matched case-insensitively
  kMac,        // MacAddr: a string "xx:xx:xx:xx:xx:xx"
  kObject,     // a nested struct
};

struct Schema;

struct Field {
  const char* name;
  Kind kind;
  // Rust type for kEnum ("CacheType"), used in "expected enum X".
  const char* type_name = nullptr;
  // Missing key -> "missing field" (a non-Option Rust field without a default).
  bool required = false;
  // JSON null accepted as "absent" (an Option<T> Rust field).
  bool nullable = true;
  std::vector<std::string> variants = {};
  const Schema* object = nullptr;
};

struct Schema {
  const char* rust_name;  // used in "expected struct X"
  std::vector<Field> fields;
};

// The structs behind the endpoints the double implements.
namespace schemas {
extern const Schema kBootSource;
extern const Schema kMachineConfig;        // PUT /machine-config
extern const Schema kMachineConfigUpdate;  // PATCH /machine-config
extern const Schema kDrive;
extern const Schema kPartialDrive;
extern const Schema kNetworkInterface;
extern const Schema kPartialNetworkInterface;
extern const Schema kLogger;
extern const Schema kMetrics;
extern const Schema kAction;
extern const Schema kVm;
}  // namespace schemas

// Parses a request body. On failure returns serde_json-like error text
// (also for duplicate keys, which serde rejects and nlohmann would not).
std::optional<std::string> parse_body(const std::string& text, Json& out);

// Checks `value` against `schema`; returns the first error in document order,
// then missing required fields, as serde does.
std::optional<std::string> check_schema(const Json& value, const Schema& schema);

// Copy of an object without the keys whose value is null: for Option<T>
// fields serde treats null exactly as absent.
Json without_nulls(const Json& object);

// MacAddr::from_str: six ':'-separated two-character hex groups.
bool parse_mac(const std::string& text, unsigned char bytes[6]);
std::string format_mac(const unsigned char bytes[6]);

}  // namespace fakefc
