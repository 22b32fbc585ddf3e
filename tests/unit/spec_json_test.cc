// ResourceSpec::fields_from_json reads the stored form of every record on
// every get and diff, by hand for speed. It must agree with nlohmann, the
// JSON library it replaced on that path, on every input: the same fields, or
// the same refusal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstdio>
#include <random>

#include "reconciler/spec.h"
#include "resources/names.h"

namespace banger {
namespace {

// What the nlohmann-only version returned.
std::optional<std::vector<SpecField>> reference(const std::string& json) {
  auto j = nlohmann::ordered_json::parse(json, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  std::vector<SpecField> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return std::nullopt;
    out.push_back({it.key(), it.value().get<std::string>()});
  }
  return out;
}

void expect_agrees(const std::string& json) {
  auto got = ResourceSpec::fields_from_json(json);
  auto want = reference(json);
  ASSERT_EQ(got.has_value(), want.has_value()) << json;
  if (got) {
    EXPECT_EQ(*got, *want) << json;
  }
}

TEST(SpecJson, RoundTripsWhatFieldsJsonWrites) {
  ResourceSpec s;
  s.fields = {{"memory", "512Mi"}, {"kernelArgs", "console=ttyS0 \"quoted\" back\\slash\ttab\nnl"},
              {"empty", ""}, {"ctl", std::string("a\x01\x1f" "b", 4)}, {"utf8", "caf\xc3\xa9 \xe2\x9c\x93"}};
  auto back = ResourceSpec::fields_from_json(s.fields_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s.fields);
  expect_agrees(s.fields_json());
  expect_agrees("{}");
}

TEST(SpecJson, AgreesWithNlohmannOnOddAndBrokenInput) {
  for (const char* j : {"", " ", "{", "}", "[]", "null", "\"x\"", "{\"a\":1}", "{\"a\":\"1\",}", "{\"a\" \"b\"}",
                        "{\"a\":\"b\"} x", " {\"a\" : \"b\" , \"c\":\"d\"}\n", "{\"a\":\"b\",\"a\":\"c\"}",
                        "{\"a\":\"\\u00e9\\ud83d\\ude00\"}", "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}",
                        "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":null}", "{\"a\":[\"b\"]}", "{\"\":\"\"}",
                        "{\"a\":\"b\"", "{'a':'b'}", "{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}"}) {
    expect_agrees(j);
  }
}

TEST(SpecJson, AgreesWithNlohmannOnMutatedRecords) {
  ResourceSpec s;
  s.fields = {{"kernel", "k"}, {"image", "i"}, {"memory", "128Mi"}, {"args", "a \"b\" \\c"}};
  const std::string base = s.fields_json();
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\":,\\ \tnu0123abc\x01\xc3\xa9";
  for (int i = 0; i < 20000; ++i) {
    std::string m = base;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0 && !m.empty(); --k) {
      size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0: m[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: m.erase(at, 1); break;
        default: m.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    expect_agrees(m);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace banger

namespace banger {
namespace {

// Hashes are stored in every applied record: they must not change between
// builds. This is the definition (FNV-1a over "name\0value\0..."), spelled
// out, and one pinned value.
TEST(SpecHash, IsFnv1aOverNamesAndValuesAndStaysTheSame) {
  ResourceSpec s{{Kind::VM, "web"}, "", {{"memory", "256Mi"}, {"vcpus", "2"}, {"empty", ""}}};
  std::string all;
  for (const auto& f : s.fields) all += f.name + '\0' + f.value + '\0';
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(all)));
  EXPECT_EQ(s.hash(), buf);
  EXPECT_EQ(ResourceSpec{}.hash(), "cbf29ce484222325");  // FNV-1a's offset basis: no fields
  ResourceSpec swapped = s;
  std::swap(swapped.fields[0].value, swapped.fields[1].value);
  EXPECT_NE(swapped.hash(), s.hash());
}

}  // namespace
}  // namespace banger
