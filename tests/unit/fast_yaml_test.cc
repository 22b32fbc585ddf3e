// FastYaml (src/resources/fast_yaml.h) against yaml-cpp: hand-written texts
// it must accept with yaml-cpp's very events (a few listed in full, to show
// yaml-cpp's behaviour), texts it must decline, the real manifests, and a
// bounded differential run over generated and mutated texts (the fast_yaml
// fuzz target runs the same check for as long as one likes).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "yaml_differential.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::fast_log;
using test::show;
using test::yaml_cpp_log;

// Must be accepted, with yaml-cpp's events; `expected` (when given) is the
// log itself, to show the behaviour.
void accepts(const std::string& text, const std::string& expected = "") {
  std::string a, b;
  if (!fast_log(text, b)) {
    ADD_FAILURE() << "declined:\n" << show(text);
    return;
  }
  if (!yaml_cpp_log(text, a)) {
    ADD_FAILURE() << "accepted what yaml-cpp rejects:\n" << show(text);
    return;
  }
  if (a != b) {
    ADD_FAILURE() << "events differ on\n" << show(text) << "\nyaml-cpp:\n" << a << "fast:\n" << b;
    return;
  }
  if (!expected.empty() && b != expected) ADD_FAILURE() << "unexpected events on\n" << show(text) << "\n" << b;
}

void declines(const std::string& text) {
  FastYaml fy(text);
  EXPECT_FALSE(fy.scan()) << "accepted:\n" << show(text);
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(FastYaml, GivesYamlCppsEventsOnTheSubset) {
  // Marks: a block map starts at its first key; an empty value is a null at
  // the next token; plain null words are nulls; tags "?" (plain, and every
  // collection) and "!" (quoted); styles Block 1, Flow 2.
  accepts("a: b\nc:\nd:\n  - x\n  -\ne: null\nf: ~\n",
          "DOC+ 0:0:0\nMAP+ 0:0:0 t[?] a0 s1\nSCALAR 0:0:0 t[?] a0 v[a]\nSCALAR 3:0:3 t[?] a0 v[b]\n"
          "SCALAR 5:1:0 t[?] a0 v[c]\nNULL 8:2:0 a0\nSCALAR 8:2:0 t[?] a0 v[d]\nSEQ+ 13:3:2 t[?] a0 s1\n"
          "SCALAR 15:3:4 t[?] a0 v[x]\nNULL 21:5:0 a0\nSEQ-\nSCALAR 21:5:0 t[?] a0 v[e]\nNULL 24:5:3 a0\n"
          "SCALAR 29:6:0 t[?] a0 v[f]\nNULL 32:6:3 a0\nMAP-\nDOC-\n->true\n->false\n");
  // Flow collections: style Flow, marks at the brackets.
  accepts("a: [x, {y: z}]\n# end",
          "DOC+ 0:0:0\nMAP+ 0:0:0 t[?] a0 s1\nSCALAR 0:0:0 t[?] a0 v[a]\nSEQ+ 3:0:3 t[?] a0 s2\n"
          "SCALAR 4:0:4 t[?] a0 v[x]\nMAP+ 7:0:7 t[?] a0 s2\nSCALAR 8:0:8 t[?] a0 v[y]\n"
          "SCALAR 11:0:11 t[?] a0 v[z]\nMAP-\nSEQ-\nMAP-\nDOC-\n->true\n->false\n");
  // Empty documents: `---` alone is a document with a null at the next
  // token; comments alone are no document at all.
  accepts("# c\n---\n---\n# x\n",
          "DOC+ 4:1:0\nNULL 8:2:0 a0\nDOC-\n->true\nDOC+ 8:2:0\nNULL 16:4:0 a0\nDOC-\n->true\n->false\n");
  accepts("", "->false\n");
  accepts("# only a comment\n\n", "->false\n");
  // At the end of the text the null's column is 0 (yaml-cpp resets it)...
  accepts("a:", "DOC+ 0:0:0\nMAP+ 0:0:0 t[?] a0 s1\nSCALAR 0:0:0 t[?] a0 v[a]\nNULL 2:0:0 a0\nMAP-\nDOC-\n->true\n->false\n");
  // ...unless the innermost collection ends at the last line's column.
  accepts("- a:\n  - x: \n   ");
  accepts("a: b\n---");
  // Indentless sequences, compact maps in sequences, nested sequences.
  accepts("k:\n- a\n- b\nn: 1\n");
  accepts("- a: b\n  c:\n  - x\n- \n-\n  y: z\n- - p\n  - q\n");
  // Scalars.
  accepts("a: 10.90.0.0/20\nb: /var/lib/x.ext4\nc: https://example.com/a:b\nd: 128Mi\ne: hello world\n"
          "f: a#b\ng: a:b\nh: -x\ni: x # comment\nj: 'q''q'\nk: \"d\\\"q\\\\\\n\\t\"\nl: ''\nm: \"\"\n");
  accepts("'quoted key': 1\n\"dq\": 2\nnull: 3\n~: 4\n");
  accepts("{kernel: k, image: i, memory: 128Mi}\n");
  accepts("a: {b: [1, 2], 'c': {d: e}, f: []}\n");
  accepts("a: b\n  # a deeper comment ends the scalar\nc: d\n");
  accepts("--- # a comment after the marker\na: b\n");
  accepts("~\n---\nplain root\n");
  accepts("  a: b\n  c: d\n---\n- x\n");

}

TEST(FastYaml, DeclinesWhatIsOutsideTheSubsetOrAnError) {
  // Declined: outside the subset, or errors.
  for (const char* t : {
           "a: &x b\n", "a: *x\n", "a: !t b\n", "a: |\n  x\n", "a: >\n  x\n", "? a\n: b\n", "%YAML 1.2\n---\na: b\n",
           "a: b\n...\n", "a:\tb\n", "a: b\r\n", "a: \xc3\xa9\n", "\xef\xbb\xbf" "a: b\n",
           "a: b\n  c\n",           // a plain scalar's continuation line
           "a: 'b\n  c'\n",         // a multi-line quoted scalar
           "a: [b,\n  c]\n",        // a flow collection over two lines
           "a: \"\\x41\"\n",        // an escape outside the subset
           "[a]: b\n", "{a: b}: c\n", "--- a: b\n", "---x\n", "a: b: c\n", "a: - b\n", "a: [b,]\n", "a: {b}\n",
           "a: {b: }\n", "a: [b: c]\n", "a:\n  b: c\n d: e\n", "a: b\n- c\n", "- a\nb: c\n", "a:\n  - b\n  c: d\n",
           "a: 'b'#c\n", "a: b\n   c: d\n", ",\n", "a: [x?y]\n", "root\n# comment\n", ":x: y\n", "a b\nc\n",
       }) {
    declines(t);
  }
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += std::string(2 * static_cast<size_t>(i), ' ') + "k:\n";
  declines(deep);
}

// The shapes banger's users write: every example and good corpus manifest
// but three that use what the subset leaves out, and a fleet as the bench
// writes it.
TEST(FastYaml, AcceptsTheRealManifests) {
  const std::vector<std::string> outside = {"05-local-artifacts-with-digests.yaml",  // a folded block scalar
                                            "11-comments-and-separators.yaml",  // a directive, anchors, `...`
                                            "14-crlf-line-endings.yaml"};
  int accepted = 0;
  for (const char* dir : {"examples/manifests", "tests/manifests/good"}) {
    for (auto& e : fs::recursive_directory_iterator(fs::path(BANGER_SOURCE_DIR) / dir)) {
      auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
      SCOPED_TRACE(e.path().string());
      if (std::find(outside.begin(), outside.end(), e.path().filename().string()) != outside.end()) {
        declines(read(e.path()));
      } else {
        accepts(read(e.path()));
        ++accepted;
      }
    }
  }
  EXPECT_GE(accepted, 18);
  std::string fleet = "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: bench}\nspec: {subnet: 10.90.0.0/20}\n";
  for (int i = 0; i < 50; ++i) {
    const std::string n = std::to_string(i);
    fleet += "---\napiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: vm-" + n +
             "}\nspec: {kernel: k, image: i, network: bench, memory: 128Mi, runtime: firecracker, diskStrategy: copy}\n"
             "---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: vm-" + n +
             "-http}\nspec: {vm: vm-" + n + ", hostPort: " + std::to_string(20000 + i) + ", guestPort: 80}\n";
  }
  accepts(fleet);
}

// Differential: whatever FastYaml accepts, yaml-cpp parses to the same
// events. A fixed seed, so that a finding reproduces; about two seconds.
TEST(FastYaml, AgreesWithYamlCppOnGeneratedAndMutatedTexts) {
  test::Gen gen(20261203);
  int cases = 0, accepted = 0;
  for (int i = 0; i < 12000; ++i) {
    std::string t = gen.text();
    for (const std::string& text : {t, gen.mutate(t)}) {
      ++cases;
      std::string a, b;
      if (!fast_log(text, b)) continue;
      ++accepted;
      ASSERT_TRUE(yaml_cpp_log(text, a)) << "accepted what yaml-cpp rejects:\n" << show(text);
      ASSERT_EQ(a, b) << "events differ on\n" << show(text);
    }
  }
  // The generator must keep exercising the fast path, not just its declines.
  EXPECT_GT(accepted, cases / 10) << accepted << " of " << cases;
}

}  // namespace
}  // namespace banger
