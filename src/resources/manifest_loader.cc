#include "resources/manifest_loader.h"

#include "resources/decode.h"
#include "resources/validate.h"

namespace banger {

LoadResult load_texts(const std::vector<SourceText>& sources) {
  LoadResult r;
  for (const SourceText& src : sources) {
    for (const Document& doc : parse_documents(src, r.diags)) {
      ++r.documents;
      decode_document(doc, r.set, r.diags);
    }
  }
  complete_defaults(r.set);
  validate_references(r.set, r.diags);
  return r;
}

LoadResult load_manifests(const std::vector<std::string>& paths, std::istream& in) {
  Diagnostics read_errors;
  std::vector<SourceText> sources = read_sources(paths, in, read_errors);
  LoadResult r = load_texts(sources);
  r.diags.append(read_errors);
  return r;
}

}  // namespace banger
