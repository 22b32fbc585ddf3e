// Manifest files to YAML documents. Reading (I/O) and parsing (pure) are
// separate so that tests and `-f -` feed text straight to the parser.
#pragma once

#include <istream>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "resources/diagnostic.h"

namespace banger {

/// One manifest file's text. `name` is how errors refer to it (the path as
/// reached from what the user typed, or "<stdin>"); `base_dir` is where its
/// relative kernel/image paths start.
struct SourceText {
  std::string name;
  std::string base_dir;
  std::string text;
};

struct Document {
  std::string file;
  std::string base_dir;
  YAML::Node root;
};

/// Files larger than this are refused: a manifest is never that big, and
/// parsing one would only burn memory.
constexpr size_t kMaxManifestBytes = 32u << 20;

/// Reads each path: a file, a folder (recursively, `*.yaml`/`*.yml`, sorted by
/// path, names starting with '.' skipped, as .git and editor files are), or "-"
/// for `in`. Problems (missing path, empty folder, unreadable file) go to diags.
std::vector<SourceText> read_sources(const std::vector<std::string>& paths, std::istream& in,
                                     Diagnostics& diags);

/// Splits a file into its documents, dropping empty ones (comment-only).
/// A syntax error is reported with its position and the file yields nothing;
/// so does a file with no documents at all.
std::vector<Document> parse_documents(const SourceText& src, Diagnostics& diags);

}  // namespace banger
