// load_texts cuts large files into pieces at "---" lines and parses them on
// several threads. Whatever the thread count, the outcome must be the one
// a single pass gives: the same resources in the same order with the same
// marks, the same diagnostics, the same document count.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reconciler/desired_state.h"
#include "resources/manifest_loader.h"

namespace banger {
namespace {

// Every resource as "KIND/NAME@FILE:LINE:COL {fields}", in order.
std::vector<std::string> summary(const LoadResult& r) {
  std::vector<std::string> out;
  DesiredState d = make_desired(r.set);
  auto mark = [](const ObjectMeta& m) {
    return m.metadata.name + "@" + m.mark.file + ":" + std::to_string(m.mark.line) + ":" +
           std::to_string(m.mark.column) + " name@" + std::to_string(m.metadata.name_mark.line);
  };
  for (const auto& n : r.set.networks) out.push_back("Network/" + mark(n));
  for (const auto& k : r.set.kernels) out.push_back("Kernel/" + mark(k));
  for (const auto& i : r.set.images) out.push_back("Image/" + mark(i));
  for (const auto& v : r.set.vms) out.push_back("VM/" + mark(v));
  for (const auto& f : r.set.port_forwards) out.push_back("PortForward/" + mark(f));
  for (const ResourceSpec& s : d.specs) out.push_back(s.key.str() + " " + s.fields_json());
  return out;
}

std::vector<std::string> diags(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diags.items()) out.push_back(d.format());
  return out;
}

void expect_same_for_any_thread_count(const std::vector<SourceText>& files) {
  const LoadResult one = load_texts(files, 1);
  for (size_t threads : {2u, 3u, 8u}) {
    const LoadResult many = load_texts(files, threads);
    EXPECT_EQ(many.documents, one.documents) << threads << " threads";
    EXPECT_EQ(summary(many), summary(one)) << threads << " threads";
    EXPECT_EQ(diags(many), diags(one)) << threads << " threads";
  }
}

// A fleet file of `vms` VMs with a forward each, over 64 KiB from 300 VMs,
// with documents written several ways ("---" alone, "--- " before a
// flow map, a trailing comment, a block scalar).
std::string fleet(int vms) {
  std::string f =
      "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: /k}\n"
      "---\napiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: i}\nspec: {path: /i}\n";
  for (int i = 0; i < vms; ++i) {
    const std::string n = std::to_string(i);
    if (i % 3 == 0) {
      f += "--- {apiVersion: banger.dev/v1, kind: VM, metadata: {name: vm-" + n +
           "}, spec: {kernel: k, image: i, memory: 128Mi}}\n";
    } else {
      f += "---   # vm " + n + "\napiVersion: banger.dev/v1\nkind: VM\nmetadata:\n  name: vm-" + n +
           "\n  labels: {tier: web}\nspec:\n  kernel: k\n  image: i\n  kernelArgs: >-\n    console=ttyS0\n"
           "    quiet\n";
    }
    f += "---\napiVersion: banger.dev/v1\nkind: PortForward\nmetadata: {name: vm-" + n +
         "-http}\nspec: {vm: vm-" + n + ", hostPort: " + std::to_string(20000 + i) + ", guestPort: 80}\n";
  }
  return f;
}

TEST(ParallelLoad, AFleetFileGivesTheSameResourcesOnAnyThreadCount) {
  const std::string text = fleet(600);
  ASSERT_GT(text.size(), 128u * 1024);
  const LoadResult r = load_texts({SourceText{"fleet.yaml", "/m", text}}, 4);
  EXPECT_TRUE(r.ok()) << (r.diags.items().empty() ? "" : r.diags.items()[0].format());
  EXPECT_EQ(r.documents, 1202u);
  EXPECT_EQ(r.set.vms.size(), 600u);
  expect_same_for_any_thread_count({SourceText{"fleet.yaml", "/m", text}});
  // Several files, small and large, keep their order too.
  expect_same_for_any_thread_count({SourceText{"a.yaml", "/m", fleet(10)}, SourceText{"b.yaml", "/m", text},
                                    SourceText{"c.yaml", "/m", fleet(400)}});
}

TEST(ParallelLoad, FieldErrorsInEveryPieceAreReportedInFileOrder) {
  std::string text = fleet(600);
  // Bad values spread over the file: each piece has some.
  for (size_t at = text.find("memory: 128Mi"); at != std::string::npos;
       at = text.find("memory: 128Mi", at + 40000)) {
    text.replace(at, 13, "memory: lots!");
  }
  const LoadResult one = load_texts({SourceText{"fleet.yaml", "/m", text}}, 1);
  ASSERT_GE(one.diags.items().size(), 3u);
  expect_same_for_any_thread_count({SourceText{"fleet.yaml", "/m", text}});
}

TEST(ParallelLoad, ASyntaxErrorAnywhereGivesTheSinglePassError) {
  const std::string text = fleet(600);
  for (size_t at : {text.size() / 5, text.size() / 2, text.size() - 100}) {
    std::string bad = text;
    const size_t line = bad.find("\nspec:", at);
    ASSERT_NE(line, std::string::npos);
    bad.insert(line + 1, "  : [unclosed\n");
    const LoadResult one = load_texts({SourceText{"fleet.yaml", "/m", bad}}, 1);
    ASSERT_FALSE(one.ok());
    expect_same_for_any_thread_count({SourceText{"fleet.yaml", "/m", bad}});
  }
  // Pieces that are only "---" and comments (then the file is read whole),
  // and a directive, which stops cutting.
  std::string comments = fleet(300);
  while (comments.size() < 160 * 1024) comments += "---\n# nothing here\n";
  expect_same_for_any_thread_count({SourceText{"c.yaml", "/m", comments}});
  expect_same_for_any_thread_count({SourceText{"d.yaml", "/m", "%YAML 1.2\n---\n" + fleet(400)}});
}

}  // namespace
}  // namespace banger
