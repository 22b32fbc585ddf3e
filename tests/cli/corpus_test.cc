// The manifest corpus under tests/manifests (see its README.md):
//   bad/   one case per file (or folder), each with the exact errors banger
//          must print, given as "# expect:" comments or a NAME.expect sidecar;
//   good/  files that must validate, alone and all together.
// Each corpus entry is its own test case, named after the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_command.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::run_banger;

namespace {

constexpr size_t kMinBadCases = 75;
constexpr size_t kMinGoodCases = 12;

fs::path corpus_dir(const std::string& sub) {
  return fs::absolute(fs::path(BANGER_SOURCE_DIR) / "tests" / "manifests" / sub).lexically_normal();
}

bool is_manifest(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

bool is_hidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

struct CorpusCase {
  std::string test_name;  ///< [A-Za-z0-9_], unique
  fs::path path;          ///< absolute; a file, or (bad only) a folder
};

// gtest's PrintTo for failure messages: show the path, not the bytes.
void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.path.string(); }

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out.empty() ? "_" : out;
}

// Bad: *.yaml/*.yml files and folders directly under bad/. Good: *.yaml/*.yml
// files directly under good/. Sorted by name so the order is stable.
std::vector<CorpusCase> list_cases(const std::string& sub, bool folders_too) {
  std::vector<fs::path> paths;
  std::error_code ec;
  for (fs::directory_iterator it(corpus_dir(sub), ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (is_hidden(p)) continue;
    if ((it->is_regular_file() && is_manifest(p)) || (folders_too && it->is_directory())) {
      paths.push_back(p);
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<CorpusCase> out;
  std::set<std::string> used;
  for (const fs::path& p : paths) {
    std::string name = sanitize(is_manifest(p) ? p.stem().string() : p.filename().string());
    // "x.yaml" and "x.yml" would clash; keep both, distinguishably.
    for (int i = 2; used.count(name); ++i) name = sanitize(p.stem().string()) + "_" + std::to_string(i);
    used.insert(name);
    out.push_back({name, p});
  }
  return out;
}

std::vector<CorpusCase> bad_cases() { return list_cases("bad", true); }
std::vector<CorpusCase> good_cases() { return list_cases("good", false); }

std::string case_name(const testing::TestParamInfo<CorpusCase>& info) {
  return info.param.test_name;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

fs::path sidecar_of(const fs::path& p) {
  fs::path s = p;
  if (is_manifest(p)) s.replace_extension();
  return fs::path(s.string() + ".expect");
}

// The expected stderr lines, in order, each with `path` in front.
// Returns nullopt (and records a failure) when the case is malformed.
std::optional<std::vector<std::string>> expected_lines(const fs::path& path) {
  const std::string where = path.string();
  std::vector<std::string> suffixes;  // what follows `where` on each line
  std::vector<std::string> comment_expects;
  if (fs::is_regular_file(path)) {
    for (const std::string& line : split_lines(read_text(path))) {
      if (line.empty() || line[0] != '#') break;  // only the leading comment block
      static const std::string kTag = "# expect: ";
      if (line.rfind(kTag, 0) == 0) comment_expects.push_back(":" + line.substr(kTag.size()));
    }
  }
  fs::path sidecar = sidecar_of(path);
  bool has_sidecar = fs::exists(sidecar);
  if (has_sidecar && !comment_expects.empty()) {
    ADD_FAILURE() << where << ": has both # expect: comments and " << sidecar.string()
                  << " (use one)";
    return std::nullopt;
  }
  if (has_sidecar) {
    for (const std::string& line : split_lines(read_text(sidecar))) {
      if (!line.empty()) suffixes.push_back(line);
    }
  } else {
    suffixes = comment_expects;
  }
  if (suffixes.empty()) {
    ADD_FAILURE() << where << ": no expectations (start the file with '# expect: LINE:COL: ...' "
                  << "or write " << sidecar.string() << ")";
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const std::string& s : suffixes) out.push_back(where + replace_all(s, "{PATH}", where));
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// --- a small reader for the JSON banger prints: an array of flat objects whose
// values are strings or integers. Enough to rebuild each diagnostic's line.
class JsonReader {
 public:
  explicit JsonReader(const std::string& s) : s_(s) {}

  /// nullopt when the text is not such an array.
  std::optional<std::vector<std::map<std::string, std::string>>> read_array_of_objects() {
    std::vector<std::map<std::string, std::string>> out;
    if (!eat('[')) return std::nullopt;
    if (eat(']')) return finish(out);
    do {
      if (!eat('{')) return std::nullopt;
      std::map<std::string, std::string> obj;
      if (!eat('}')) {
        do {
          std::string key, value;
          if (!string(key) || !eat(':') || !scalar(value)) return std::nullopt;
          obj[key] = value;
        } while (eat(','));
        if (!eat('}')) return std::nullopt;
      }
      out.push_back(std::move(obj));
    } while (eat(','));
    if (!eat(']')) return std::nullopt;
    return finish(out);
  }

 private:
  template <class T>
  std::optional<T> finish(T v) {
    skip_ws();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  bool scalar(std::string& out) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '"') return string(out);
    size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-')) ++i_;
    out = s_.substr(start, i_ - start);
    return !out.empty();
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t& out) {
    if (i_ + 4 > s_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
      out = out * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                                 ? c - '0'
                                                 : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    return true;
  }
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
            i_ += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  const std::string& s_;
  size_t i_ = 0;
};

// The human line for one JSON diagnostic, formatted the way banger prints it.
std::string human_line(const std::map<std::string, std::string>& d) {
  auto get = [&](const char* k) {
    auto it = d.find(k);
    return it == d.end() ? std::string("<no " + std::string(k) + ">") : it->second;
  };
  std::string out = get("file");
  if (get("line") != "0") out += ":" + get("line") + ":" + get("column");
  out += ": ";
  if (!get("kind").empty()) {
    out += get("kind");
    if (!get("name").empty()) out += "/" + get("name");
    out += ": ";
  }
  if (!get("field").empty()) out += get("field") + ": ";
  return out + get("message");
}

// --- bad manifests ----------------------------------------------------------

class BadManifest : public testing::TestWithParam<CorpusCase> {};

TEST_P(BadManifest, PrintsExactlyTheExpectedErrors) {
  const fs::path& path = GetParam().path;
  auto expected = expected_lines(path);
  if (!expected) return;
  CommandResult r = run_banger({"validate", "-f", path.string()});
  EXPECT_EQ(r.signal, 0) << "banger was killed by a signal";
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "") << "nothing belongs on stdout when validation fails";
  EXPECT_EQ(r.err, join_lines(*expected));
}

TEST_P(BadManifest, JsonOutputHasTheSameErrors) {
  const fs::path& path = GetParam().path;
  auto expected = expected_lines(path);
  if (!expected) return;
  CommandResult r = run_banger({"validate", "-f", path.string(), "-o", "json"});
  EXPECT_EQ(r.signal, 0) << "banger was killed by a signal";
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "") << "with -o json the errors belong in the JSON on stdout";
  auto diags = JsonReader(r.out).read_array_of_objects();
  ASSERT_TRUE(diags.has_value()) << "not a JSON array of objects:\n" << r.out;
  std::vector<std::string> got;
  for (const auto& d : *diags) got.push_back(human_line(d));
  EXPECT_EQ(join_lines(got), join_lines(*expected)) << "raw JSON:\n" << r.out;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadManifest, testing::ValuesIn(bad_cases()), case_name);

// --- good manifests ---------------------------------------------------------

class GoodManifest : public testing::TestWithParam<CorpusCase> {};

TEST_P(GoodManifest, IsValidOnItsOwn) {
  const fs::path& path = GetParam().path;
  CommandResult r = run_banger({"validate", "-f", path.string()});
  EXPECT_EQ(r.signal, 0) << "banger was killed by a signal";
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("valid: ", 0), 0u) << "stdout: " << r.out;
}

TEST_P(GoodManifest, JsonOutputIsAnEmptyList) {
  const fs::path& path = GetParam().path;
  CommandResult r = run_banger({"validate", "-f", path.string(), "-o", "json"});
  EXPECT_EQ(r.signal, 0) << "banger was killed by a signal";
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  auto diags = JsonReader(r.out).read_array_of_objects();
  ASSERT_TRUE(diags.has_value()) << "not a JSON array of objects:\n" << r.out;
  EXPECT_TRUE(diags->empty()) << r.out;
}

TEST_P(GoodManifest, HasNoExpectations) {
  // A good file with "# expect:" lines (or a sidecar) was probably meant for bad/.
  const fs::path& path = GetParam().path;
  EXPECT_FALSE(fs::exists(sidecar_of(path))) << sidecar_of(path).string();
  EXPECT_EQ(read_text(path).find("# expect:"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Corpus, GoodManifest, testing::ValuesIn(good_cases()), case_name);

// --- the corpus as a whole ----------------------------------------------------

TEST(ManifestCorpus, IsNotEmpty) {
  // So that a moved or deleted folder cannot turn the suites above into no-ops.
  EXPECT_GE(bad_cases().size(), kMinBadCases) << corpus_dir("bad").string();
  EXPECT_GE(good_cases().size(), kMinGoodCases) << corpus_dir("good").string();
}

TEST(ManifestCorpus, BadCasesFollowTheNamingScheme) {
  static const std::regex name_re(R"([0-9]{3}-[a-z0-9]+(-[a-z0-9]+)*(\.ya?ml)?)");
  std::set<std::string> numbers;
  for (const CorpusCase& c : bad_cases()) {
    std::string name = c.path.filename().string();
    EXPECT_TRUE(std::regex_match(name, name_re)) << name << " (expected NNN-short-description.yaml)";
    EXPECT_TRUE(numbers.insert(name.substr(0, 3)).second) << name << ": number used twice";
  }
}

TEST(ManifestCorpus, EveryExpectFileHasItsCase) {
  // A sidecar whose manifest was renamed would otherwise be ignored silently.
  std::error_code ec;
  for (fs::directory_iterator it(corpus_dir("bad"), ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".expect") continue;
    fs::path stem = p;
    stem.replace_extension();
    bool found = fs::is_directory(stem) || fs::exists(fs::path(stem.string() + ".yaml")) ||
                 fs::exists(fs::path(stem.string() + ".yml"));
    EXPECT_TRUE(found) << p.string() << " has no manifest or folder next to it";
  }
  EXPECT_FALSE(ec) << ec.message();
}

TEST(ManifestCorpus, GoodFolderValidatesAsAWhole) {
  // Names, subnets, bridges, addresses and forwards are unique across good/,
  // so the folder is one valid set of manifests, as `banger apply -f good/` would read it.
  CommandResult r = run_banger({"validate", "-f", corpus_dir("good").string()});
  EXPECT_EQ(r.signal, 0) << "banger was killed by a signal";
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("valid: ", 0), 0u) << "stdout: " << r.out;
}

}  // namespace
