// YAML 1.2 core-schema typing of yaml-cpp nodes, value descriptions for
// messages, quoting, and marks.
#include "resources/yaml_scalar.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace banger {
namespace {

// The node `text` becomes as the value of a mapping key, as in a manifest.
YAML::Node value(const std::string& text) {
  YAML::Node doc = YAML::Load("v: " + text + "\n");
  return doc["v"];
}

ScalarValue read(const std::string& text) { return read_scalar(value(text)); }

// -------------------------------------------------------------------- nulls

TEST(ReadScalar, NullWords) {
  for (const char* s : {"", "~", "null", "Null", "NULL"}) {
    EXPECT_EQ(read(s).type, YamlType::Null) << "'" << s << "'";
  }
}

TEST(ReadScalar, NullLookalikesAreStrings) {
  for (const char* s : {"nULL", "nil", "None", "none", "NUll", "~~"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::String) << s;
    EXPECT_EQ(v.text, s);
  }
}

TEST(ReadScalar, QuotedNullIsAString) {
  for (const char* s : {"\"null\"", "'null'", "\"~\"", "''", "\"\""}) {
    EXPECT_EQ(read(s).type, YamlType::String) << s;
  }
  EXPECT_EQ(read("\"null\"").text, "null");
  EXPECT_EQ(read("''").text, "");
}

TEST(ReadScalar, UndefinedNodesAreNullAndNeverThrow) {
  const YAML::Node doc = YAML::Load("a: 1\n");
  YAML::Node missing = doc["missing"];  // a const lookup of an absent key: an invalid node
  EXPECT_NO_THROW(read_scalar(missing));
  EXPECT_EQ(read_scalar(missing).type, YamlType::Null);
  EXPECT_EQ(yaml_type(missing), YamlType::Null);
  EXPECT_EQ(read_scalar(YAML::Node()).type, YamlType::Null);
}

// ------------------------------------------------------------------ booleans

TEST(ReadScalar, CoreSchemaBooleans) {
  for (const char* s : {"true", "True", "TRUE"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::Bool) << s;
    EXPECT_TRUE(v.boolean) << s;
  }
  for (const char* s : {"false", "False", "FALSE"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::Bool) << s;
    EXPECT_FALSE(v.boolean) << s;
  }
}

TEST(ReadScalar, Yaml11BooleansAreStrings) {
  // YAML 1.1's yes/no/on/off are plain strings in 1.2 (and to JSON Schema tools).
  for (const char* s : {"yes", "no", "Yes", "NO", "on", "off", "On", "OFF", "y", "n", "Y", "tRUE",
                        "fALSE", "truee"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::String) << s;
    EXPECT_EQ(v.text, s);
  }
}

TEST(ReadScalar, QuotedBooleansAreStrings) {
  EXPECT_EQ(read("\"true\"").type, YamlType::String);
  EXPECT_EQ(read("'false'").type, YamlType::String);
}

// ------------------------------------------------------------------ integers

TEST(ReadScalar, DecimalIntegers) {
  struct Case {
    const char* text;
    long long value;
  };
  for (Case c : {Case{"0", 0}, Case{"42", 42}, Case{"-7", -7}, Case{"+7", 7}, Case{"007", 7},
                 Case{"-0", 0}, Case{"65535", 65535},
                 Case{"9223372036854775807", 9223372036854775807LL},
                 Case{"-9223372036854775808", (-9223372036854775807LL - 1)}}) {
    ScalarValue v = read(c.text);
    EXPECT_EQ(v.type, YamlType::Int) << c.text;
    EXPECT_EQ(v.integer, c.value) << c.text;
    EXPECT_FALSE(v.int_overflow) << c.text;
    EXPECT_EQ(v.text, c.text);
  }
}

TEST(ReadScalar, HexAndOctalIntegers) {
  struct Case {
    const char* text;
    long long value;
  };
  for (Case c : {Case{"0x1F", 31}, Case{"0xff", 255}, Case{"0x0", 0}, Case{"0o17", 15},
                 Case{"0o0", 0}, Case{"0o777", 511}, Case{"0x7fffffffffffffff", 9223372036854775807LL}}) {
    ScalarValue v = read(c.text);
    EXPECT_EQ(v.type, YamlType::Int) << c.text;
    EXPECT_EQ(v.integer, c.value) << c.text;
    EXPECT_FALSE(v.int_overflow) << c.text;
  }
}

TEST(ReadScalar, MalformedIntegersAreStrings) {
  for (const char* s : {"0x", "0o", "0xg", "0o8", "0o19", "0x1.5", "-0x10", "+0o7", "0X10", "0O7",
                        "1_000", "1,000", "12abc", "0b101", "--1", "+-1", "1-", "'-'", "'+'"}) {
    EXPECT_EQ(read(s).type, YamlType::String) << s;
  }
}

TEST(ReadScalar, IntegerOverflowIsFlagged) {
  for (const char* s : {"9223372036854775808", "-9223372036854775809", "99999999999999999999",
                        "0xFFFFFFFFFFFFFFFFF", "0x8000000000000000",
                        "0o7777777777777777777777"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::Int) << s;
    EXPECT_TRUE(v.int_overflow) << s;
  }
}

TEST(ReadScalar, QuotedIntegersAreStrings) {
  ScalarValue v = read("\"2\"");
  EXPECT_EQ(v.type, YamlType::String);
  EXPECT_EQ(v.text, "2");
  EXPECT_EQ(read("'0x10'").type, YamlType::String);
}

// -------------------------------------------------------------------- floats

TEST(ReadScalar, Floats) {
  for (const char* s : {"1.5", "-1.5", "+1.5", ".5", "-.5", "1.", "0.0", "1e3", "1E-3", "-2.5e+10",
                        ".inf", "-.inf", "+.inf", ".Inf", "-.INF", ".nan", ".NaN", ".NAN"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::Float) << s;
    EXPECT_EQ(v.text, s);
  }
}

TEST(ReadScalar, FloatLookalikesAreStrings) {
  for (const char* s : {"1.5.5", "e3", "1e", "1e+", "inf", "nan", "NaN", "Infinity", ".", "1.5Gi",
                        "-.nan", "1.2.3.4", "..5"}) {
    EXPECT_EQ(read(s).type, YamlType::String) << s;
  }
}

// --------------------------------------------------------------- str and tags

TEST(ReadScalar, StrTagAlwaysMakesAString) {
  for (const char* s : {"!!str 123", "!!str true", "!!str null", "!!str 1.5", "!<tag:yaml.org,2002:str> 5"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::String) << s;
  }
  EXPECT_EQ(read("!!str 123").text, "123");
  ScalarValue empty = read("!!str");
  EXPECT_EQ(empty.type, YamlType::String);
  EXPECT_EQ(empty.text, "");
}

TEST(ReadScalar, NonSpecificTagIsAString) {
  ScalarValue v = read("! 123");
  EXPECT_EQ(v.type, YamlType::String);
  EXPECT_EQ(v.text, "123");
}

TEST(ReadScalar, OtherTagsAreOther) {
  EXPECT_EQ(read("!custom x").type, YamlType::Other);
  EXPECT_EQ(read("!!binary aGVsbG8=").type, YamlType::Other);
}

TEST(ReadScalar, BlockScalarsAreStrings) {
  YAML::Node n = YAML::Load("v: |\n  123\n")["v"];
  ScalarValue v = read_scalar(n);
  EXPECT_EQ(v.type, YamlType::String);
  EXPECT_EQ(v.text, "123\n");
  EXPECT_EQ(read_scalar(YAML::Load("v: >-\n  true\n")["v"]).type, YamlType::String);
}

TEST(ReadScalar, AliasesReadAsTheirAnchor) {
  YAML::Node doc = YAML::Load("a: &x 5\nb: *x\nc: &s hello\nd: *s\n");
  EXPECT_EQ(read_scalar(doc["b"]).type, YamlType::Int);
  EXPECT_EQ(read_scalar(doc["b"]).integer, 5);
  EXPECT_EQ(read_scalar(doc["d"]).type, YamlType::String);
}

TEST(ReadScalar, PlainStrings) {
  for (const char* s : {"hello", "512Mi", "10.0.0.1", "172.20.0.0/24", "bg-fleet", "a b c"}) {
    ScalarValue v = read(s);
    EXPECT_EQ(v.type, YamlType::String) << s;
    EXPECT_EQ(v.text, s);
  }
}

TEST(ReadScalar, Collections) {
  EXPECT_EQ(read("[1, 2]").type, YamlType::List);
  EXPECT_EQ(read("[]").type, YamlType::List);
  EXPECT_EQ(read("{a: 1}").type, YamlType::Mapping);
  EXPECT_EQ(read("{}").type, YamlType::Mapping);
  EXPECT_EQ(yaml_type(YAML::Load("- a\n- b\n")), YamlType::List);
}

// ------------------------------------------------------------ descriptions

TEST(DescribeValue, ByType) {
  EXPECT_EQ(describe_value(value("abc")), "\"abc\"");
  EXPECT_EQ(describe_value(value("\"2\"")), "\"2\"");
  EXPECT_EQ(describe_value(value("42")), "42");
  EXPECT_EQ(describe_value(value("0x10")), "0x10");
  EXPECT_EQ(describe_value(value("1.5")), "1.5");
  EXPECT_EQ(describe_value(value("true")), "true");
  EXPECT_EQ(describe_value(value("[1]")), "a list");
  EXPECT_EQ(describe_value(value("{a: 1}")), "a mapping");
  EXPECT_EQ(describe_value(value("")), "empty");
  EXPECT_EQ(describe_value(value("!custom x")), "a tagged value");
}

TEST(DescribeValue, LongNumbersAreCut) {
  std::string digits(200, '9');
  std::string d = describe_value(value(digits));
  EXPECT_LT(d.size(), 80u);
  EXPECT_NE(d.find("..."), std::string::npos);
}

TEST(TypeNoun, All) {
  EXPECT_STREQ(type_noun(YamlType::Null), "empty");
  EXPECT_STREQ(type_noun(YamlType::Bool), "a boolean");
  EXPECT_STREQ(type_noun(YamlType::Int), "an integer");
  EXPECT_STREQ(type_noun(YamlType::Float), "a number");
  EXPECT_STREQ(type_noun(YamlType::String), "a string");
  EXPECT_STREQ(type_noun(YamlType::List), "a list");
  EXPECT_STREQ(type_noun(YamlType::Mapping), "a mapping");
  EXPECT_STREQ(type_noun(YamlType::Other), "a tagged value");
}

TEST(Quote, EscapesLikeJson) {
  EXPECT_EQ(quote("abc"), "\"abc\"");
  EXPECT_EQ(quote(""), "\"\"");
  EXPECT_EQ(quote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quote("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(quote("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(quote("a\tb"), "\"a\\tb\"");
  EXPECT_EQ(quote("\x01"), "\"\\x01\"");
  EXPECT_EQ(quote("\x7f"), "\"\\x7f\"");
  EXPECT_EQ(quote(std::string_view("a\0b", 3)), "\"a\\x00b\"");
  EXPECT_EQ(quote("\x1b[31m"), "\"\\x1b[31m\"");
  EXPECT_EQ(quote("wéb"), "\"wéb\"");  // UTF-8 passes through
}

TEST(Quote, CutsLongText) {
  std::string q = quote(std::string(200, 'x'));
  EXPECT_EQ(q, "\"" + std::string(60, 'x') + "...\"");
  EXPECT_EQ(quote(std::string(60, 'y')), "\"" + std::string(60, 'y') + "\"");
}

TEST(Quote, NeverLeavesControlBytes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t start = 0; start < all.size(); start += 50) {
    std::string q = quote(all.substr(start, 50));
    for (unsigned char c : q) EXPECT_FALSE(c < 0x20 || c == 0x7f) << "byte " << int(c);
  }
}

// --------------------------------------------------------------------- marks

TEST(ToMark, OneBased) {
  YAML::Mark m;
  m.line = 2;
  m.column = 3;
  Mark out = to_mark("f.yaml", m);
  EXPECT_EQ(out.file, "f.yaml");
  EXPECT_EQ(out.line, 3);
  EXPECT_EQ(out.column, 4);
  YAML::Mark origin;
  EXPECT_EQ(to_mark("f", origin).line, 1);
  EXPECT_EQ(to_mark("f", origin).column, 1);
}

TEST(ToMark, NullMarkIsTheFileStart) {
  Mark out = to_mark("g.yaml", YAML::Mark::null_mark());
  EXPECT_EQ(out.file, "g.yaml");
  EXPECT_EQ(out.line, 1);
  EXPECT_EQ(out.column, 1);
}

TEST(ToMark, FromANode) {
  YAML::Node doc = YAML::Load("a: 1\nbb:\n  ccc: hello\n");
  Mark m = to_mark("x", doc["bb"]["ccc"].Mark());
  EXPECT_EQ(m.line, 3);
  EXPECT_EQ(m.column, 8);
}

}  // namespace
}  // namespace banger
