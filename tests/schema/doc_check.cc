// doc_check: the C++ validator's per-document verdict, for the schema agreement
// test (tests/schema/check_schemas.py).
//
//   doc_check FILE...
//
// For each file, one line per (non-empty) document:
//
//   FILE <TAB> DOC_INDEX <TAB> FIRST_LINE <TAB> valid|invalid|crash [<TAB> DIAG]...
//
// DOC_INDEX counts the documents parse_documents() returns (empty documents
// are skipped, as the loader skips them), from 0. Each DIAG is one problem
// decode_document() reported for that document, as FIELD <US> MESSAGE (US is
// the ASCII unit separator, 0x1f; FIELD may be empty). Only per-document rules
// count: the cross-resource checks (references, duplicate names, subnet
// overlaps, address and port conflicts) are never run. "crash" means that
// decode_document() threw (a bug: it must report, not throw); the last DIAG is
// then the exception's message.
//
// A file that cannot be read or parsed, or that has no documents, gives a
// single line with DOC_INDEX -1 and FIRST_LINE 0, "invalid", and the problem.
// Exit status: 0 when every file was reported, 2 on a usage error.
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "resources/decode.h"
#include "resources/diagnostic.h"
#include "resources/loader.h"
#include "resources/model.h"

namespace {

// Keeps each record on one line and its columns apart.
std::string clean(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

void print_diags(std::ostream& out, const banger::Diagnostics& diags) {
  for (const banger::Diagnostic& d : diags.items()) {
    out << '\t' << clean(d.field) << '\x1f' << clean(d.message);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: doc_check FILE...\n";
    return 2;
  }
  std::istringstream no_stdin;
  for (int a = 1; a < argc; ++a) {
    const std::string path = argv[a];
    banger::Diagnostics file_diags;
    std::vector<banger::SourceText> sources = banger::read_sources({path}, no_stdin, file_diags);
    std::vector<banger::Document> docs;
    for (const auto& src : sources) {
      std::vector<banger::Document> more = banger::parse_documents(src, file_diags);
      docs.insert(docs.end(), more.begin(), more.end());
    }
    if (!file_diags.empty() || docs.empty()) {
      std::cout << path << "\t-1\t0\tinvalid";
      print_diags(std::cout, file_diags);
      std::cout << '\n';
      continue;
    }
    banger::ManifestSet set;
    for (size_t i = 0; i < docs.size(); ++i) {
      banger::Diagnostics diags;
      std::string crash;
      try {
        banger::decode_document(docs[i], set, diags);
      } catch (const std::exception& e) {
        crash = e.what();
      }
      int line = docs[i].root.Mark().is_null() ? 0 : docs[i].root.Mark().line + 1;
      std::cout << path << '\t' << i << '\t' << line << '\t'
                << (!crash.empty() ? "crash" : diags.empty() ? "valid" : "invalid");
      print_diags(std::cout, diags);
      if (!crash.empty()) std::cout << "\t\x1f" << clean(crash);
      std::cout << '\n';
    }
  }
  return 0;
}
