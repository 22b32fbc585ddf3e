// Shared by fast_yaml_test.cc and the fast_yaml fuzz target: both parsers'
// events as text, one call per line (every argument: mark, tag, anchor,
// value, style), and a generator of YAML-like texts and their mutations.
// FastYaml (src/resources/fast_yaml.h) must give exactly yaml-cpp's log for
// every text it accepts.
#pragma once

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "resources/fast_yaml.h"

namespace banger::test {

class Recorder : public YAML::EventHandler {
 public:
  std::string log;
  void OnDocumentStart(const YAML::Mark& m) override { add("DOC+ " + mark(m)); }
  void OnDocumentEnd() override { add("DOC-"); }
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { add("NULL " + mark(m) + " a" + std::to_string(a)); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override { add("ALIAS " + mark(m) + " a" + std::to_string(a)); }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a, const std::string& v) override {
    add("SCALAR " + mark(m) + " t[" + tag + "] a" + std::to_string(a) + " v[" + v + "]");
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a, YAML::EmitterStyle::value s) override {
    add("SEQ+ " + mark(m) + " t[" + tag + "] a" + std::to_string(a) + " s" + std::to_string(int(s)));
  }
  void OnSequenceEnd() override { add("SEQ-"); }
  void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a, YAML::EmitterStyle::value s) override {
    add("MAP+ " + mark(m) + " t[" + tag + "] a" + std::to_string(a) + " s" + std::to_string(int(s)));
  }
  void OnMapEnd() override { add("MAP-"); }
  void OnAnchor(const YAML::Mark& m, const std::string& name) override { add("ANCHOR " + mark(m) + " " + name); }
  void add(const std::string& s) { log += s; log += '\n'; }

 private:
  static std::string mark(const YAML::Mark& m) {
    return std::to_string(m.pos) + ":" + std::to_string(m.line) + ":" + std::to_string(m.column);
  }
};

// yaml-cpp's events for text; false when it throws (or would loop forever on
// a stray ',', reporting one empty document after another at one place).
inline bool yaml_cpp_log(const std::string& text, std::string& log) {
  Recorder r;
  try {
    std::istringstream in(text);
    YAML::Parser p(in);
    std::string last_start;
    for (int docs = 0;; ++docs) {
      if (docs > 10000) return false;
      size_t before = r.log.size();
      bool more = p.HandleNextDocument(r);
      r.add(more ? "->true" : "->false");
      if (!more) break;
      std::string start = r.log.substr(before, r.log.find('\n', before) - before);
      if (start == last_start) return false;  // no progress
      last_start = start;
    }
  } catch (const YAML::Exception&) {
    return false;
  }
  log = std::move(r.log);
  return true;
}

// FastYaml's events; false when it declines the text.
inline bool fast_log(const std::string& text, std::string& log) {
  FastYaml fy(text);
  if (!fy.scan()) return false;
  Recorder r;
  for (int docs = 0; docs <= 10001; ++docs) {
    bool more = fy.HandleNextDocument(r);
    r.add(more ? "->true" : "->false");
    if (!more) break;
  }
  log = std::move(r.log);
  return true;
}

// Printable form of a text for a failure message.
inline std::string show(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[static_cast<unsigned char>(c) >> 4];
      out += hex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out;
}

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(uint64_t seed) : rng(seed) {}
  int rnd(int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); }
  bool chance(int percent) { return rnd(100) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[rnd(static_cast<int>(v.size()))]; }

  const std::vector<std::string> keys = {
      "apiVersion", "kind", "metadata", "name", "spec", "a", "b", "x", "key", "vm-0", "k8s.io/x",
      "a:b", "a b", "null", "~", "Null", "1", "true", "'q'", "\"d\"", "'q''q'", "a#b", "-x", "_x",
      "x.y", "port", "labels", "'a b'", "\"\"", "''", "a/b", "NULL", "nul", "x?", "a,b", "a[0]",
      "a{b}", "a'b", "a\"b", "a!b", "a&b", "a*b", "a|b", "a>b", "a%b", "a@b", "a`b", "(x)",
      "$x", "^x", ";x", "\\x", "=x", "+x", ".x", "/x", "~x", "..x", "a:", "a :"};
  const std::vector<std::string> scalars = {
      "banger.dev/v1", "VM", "vm-0", "10.90.0.0/20", "/var/lib/x.ext4", "https://example.com/a:b",
      "128Mi", "true", "false", "80", "0", "-1", "1.5", "vm-0-http", "hello world", "a  b",
      "a:b", "a #b", "a#b", "-x", "- x", ":x", "x:", "'q''q'", "\"d\\\"q\"", "\"a\\\\b\"",
      "\"t\\tn\\n\"", "\"\\x41\"", "\"\\u0041\"", "null", "~", "Null", "NULL", "nULL", "\"\"", "''",
      "[]", "{}", "'a # b'", "\"a: b\"", "x?y", "?x", "a,b", "a]", "a}", "{a", "a{b}", "a[b]",
      "'it''s'", "'", "\"", "a'", "a\"", "!x", "&x", "*x", "|", ">", "%x", "@x", "`x", "a:,",
      "a: b", "a:[", "...", "---", "--x", ".5", "~x", "x~", "a!", "a&", "a*", "a|", "a>", "a%",
      "a @", "a `", "=", "+", "$HOME", "(1)", "a;b", "\\n", "C:\\x", "http://h:80/p?q=1&r=2#f",
      "a , b", "x :y", "x: ", "'a'b", "\"a\"b", "' lead'", "'trail '", "\" sp \""};

  // Half the texts use only the shapes manifests use, so that more of them
  // are accepted and deeper structures get compared.
  bool nice = false;
  const std::vector<std::string> nice_keys = {"apiVersion", "kind", "metadata", "name", "spec", "a", "b-c", "x_y", "k8s.io/x", "null", "~", "'q'", "\"d\""};
  const std::vector<std::string> nice_scalars = {"banger.dev/v1", "VM", "vm-0", "10.90.0.0/20", "/var/lib/x.ext4", "https://example.com/a:b", "128Mi", "true", "80", "hello world", "null", "~", "''", "'it''s'", "\"q\\\"q\"", "a#b", "x:y", "-x"};
  std::string key() { return pick(nice ? nice_keys : keys); }
  std::string scalar() { return pick(nice ? nice_scalars : scalars); }
  std::string spaces(int n) { return std::string(std::max(n, 0), ' '); }

  std::string eol() {
    std::string s;
    if (chance(8)) s += spaces(1 + rnd(3));
    if (chance(8)) s += chance(80) ? " # c" : "# c";
    s += "\n";
    if (chance(6)) s += "\n";
    if (chance(5)) s += spaces(rnd(6)) + "\n";
    if (chance(5)) s += spaces(rnd(6)) + "# note\n";
    return s;
  }

  std::string flow(int depth) {
    std::string s;
    bool map = chance(50);
    s += map ? "{" : "[";
    if (chance(10)) s += " ";
    int n = rnd(4);
    for (int i = 0; i < n; ++i) {
      if (i) s += chance(85) ? ", " : (chance(50) ? "," : " , ");
      if (map) s += key() + (chance(90) ? ": " : (chance(50) ? ":" : ":  "));
      if (depth < 3 && chance(20)) s += flow(depth + 1);
      else s += scalar();
    }
    if (chance(4)) s += ",";
    if (chance(10)) s += " ";
    s += map ? "}" : "]";
    return s;
  }

  std::string inline_value(int depth) {
    if (chance(20)) return flow(depth);
    return scalar();
  }

  int deeper(int indent) { return indent + (chance(80) ? 2 : 1 + rnd(4)); }

  // A block node whose first line is completed by the caller's prefix.
  std::string block_map(int indent, int depth, bool first_inline) {
    std::string s;
    int n = 1 + rnd(4);
    for (int i = 0; i < n; ++i) {
      int ind = indent;
      if (chance(3)) ind += rnd(3) - 1;  // odd indentation
      if (!(i == 0 && first_inline)) s += spaces(ind);
      s += key() + ":";
      s += value(indent, depth);
    }
    return s;
  }

  // After "key:": " value\n" or "\n" and a nested block.
  std::string value(int indent, int depth) {
    int r = rnd(100);
    if (depth > 5) r = r % 60;
    if (r < 55) return " " + inline_value(depth) + eol();
    if (r < 62) return eol();  // empty
    if (r < 80) return eol() + block_map(deeper(indent), depth + 1, false);
    if (r < 90) return eol() + block_seq(deeper(indent), depth + 1, false);
    return eol() + block_seq(indent, depth + 1, false);  // indentless
  }

  std::string block_seq(int indent, int depth, bool first_inline) {
    std::string s;
    int n = 1 + rnd(4);
    for (int i = 0; i < n; ++i) {
      int ind = indent;
      if (chance(3)) ind += rnd(3) - 1;
      if (!(i == 0 && first_inline)) s += spaces(ind);
      s += "-";
      int r = rnd(100);
      if (depth > 5) r = r % 50;
      int extra = chance(85) ? 1 : 2 + rnd(2);
      if (r < 45) s += spaces(extra) + inline_value(depth) + eol();
      else if (r < 52) s += eol();
      else if (r < 75) s += spaces(extra) + block_map(ind + 1 + extra, depth + 1, true);
      else if (r < 82) s += spaces(extra) + block_seq(ind + 1 + extra, depth + 1, true);
      else if (r < 92) s += eol() + block_map(deeper(ind), depth + 1, false);
      else s += eol() + block_seq(deeper(ind), depth + 1, false);
    }
    return s;
  }

  std::string document(bool first) {
    std::string s;
    if (!first || chance(40)) {
      s += "---";
      if (chance(10)) s += chance(50) ? " # doc" : " ";
      s += "\n";
    }
    if (chance(10)) s += "# comment\n";
    int r = rnd(100);
    int indent = chance(90) ? 0 : 1 + rnd(2);
    if (r < 60) s += block_map(indent, 0, false);
    else if (r < 75) s += block_seq(indent, 0, false);
    else if (r < 82) s += flow(0) + eol();
    else if (r < 88) s += scalar() + eol();
    else if (r < 94) s += "";  // empty document
    else s += "# only a comment\n";
    return s;
  }

  std::string text() {
    nice = chance(50);
    std::string s;
    int docs = 1 + rnd(3);
    for (int i = 0; i < docs; ++i) s += document(i == 0);
    if (chance(10) && !s.empty() && s.back() == '\n') s.pop_back();
    if (chance(5)) s += "\n";
    return s;
  }

  // ------------------------------------------------------------ mutations

  std::string mutate(std::string s) {
    static const std::string chars = ":-#'\"{}[],&*!|>%? \t\n\r.~abcxyz019/\\@`";
    int n = 1 + rnd(3);
    for (int k = 0; k < n; ++k) {
      int op = rnd(8);
      size_t at = s.empty() ? 0 : static_cast<size_t>(rnd(static_cast<int>(s.size()) + 1));
      if (op <= 1) {
        s.insert(at, 1, chars[rnd(static_cast<int>(chars.size()))]);
      } else if (op == 2 && at < s.size()) {
        s.erase(at, 1);
      } else if (op == 3 && at < s.size()) {
        s[at] = chars[rnd(static_cast<int>(chars.size()))];
      } else if (op >= 4) {
        // Line operations.
        std::vector<std::string> lines;
        std::stringstream ss(s);
        std::string l;
        while (std::getline(ss, l)) lines.push_back(l);
        if (lines.empty()) continue;
        size_t i = rnd(static_cast<int>(lines.size()));
        if (op == 4) lines.insert(lines.begin() + i, lines[rnd(static_cast<int>(lines.size()))]);
        else if (op == 5) lines.erase(lines.begin() + i);
        else if (op == 6) lines[i] = spaces(rnd(3)) + lines[i];
        else if (!lines[i].empty() && lines[i][0] == ' ') lines[i].erase(0, 1 + rnd(2));
        std::string out;
        for (auto& x : lines) out += x + "\n";
        if (!s.empty() && s.back() != '\n' && !out.empty()) out.pop_back();
        s = out;
      }
    }
    return s;
  }
};

}  // namespace banger::test
