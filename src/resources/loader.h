// Manifest files to YAML documents. Reading (I/O) and parsing (pure) are
// separate so that tests and `-f -` feed text straight to the parser.
#pragma once

#include <functional>
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

/// True when `path`, symlinks resolved, is not inside `root` (or either
/// cannot be resolved): Argo CD's out-of-bounds rule, for files a watched
/// repository names.
bool outside_folder(const std::string& path, const std::string& root);

/// Reads each path: a file, a folder (recursively, `*.yaml`/`*.yml`, sorted by
/// path, names starting with '.' skipped, as .git and editor files are), or "-"
/// for `in`. Problems (missing path, empty folder, unreadable file) go to diags.
std::vector<SourceText> read_sources(const std::vector<std::string>& paths, std::istream& in,
                                     Diagnostics& diags);

/// Limits on one file, far above any fleet (a VM is one document of a few
/// dozen nodes), so that a generated or hostile file is refused with an error
/// naming it instead of taking the memory of the host.
constexpr size_t kMaxDocumentsPerFile = 100000;
constexpr size_t kMaxNodesPerDocument = 100000;

/// Calls `each` with every non-empty (not comment-only) document of the file,
/// in order, one at a time: only that document's nodes are in memory, so a
/// file costs what is made of its documents, not the whole file's yaml-cpp
/// nodes. Returns false, with the error in diags, on a syntax error (with its
/// position), a limit passed, or a file with no documents; `each` may have
/// seen the documents before the error, so a caller keeps what it made of
/// them aside until this returns true (the file yields nothing otherwise).
bool for_each_document(const SourceText& src, Diagnostics& diags,
                       const std::function<void(const Document&)>& each);

/// All the documents of a file at once (as for_each_document; nothing on an
/// error): for tests and tools; validation goes through for_each_document.
std::vector<Document> parse_documents(const SourceText& src, Diagnostics& diags);

}  // namespace banger
