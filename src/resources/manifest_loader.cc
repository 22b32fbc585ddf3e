#include "resources/manifest_loader.h"

#include <sys/stat.h>

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

namespace {

// Images named by path: what the files are, so validation can check diskSize
// and diskStrategy against the image's size before anything is made.
void stat_image_files(ManifestSet& set) {
  for (Image& img : set.images) {
    ArtifactSource& s = img.source;
    if (!s.path.set || s.resolved_path.empty()) continue;
    struct stat st {};
    if (::stat(s.resolved_path.c_str(), &st) != 0) continue;  // missing: apply says so
    if (S_ISREG(st.st_mode)) {
      s.known_size = static_cast<uint64_t>(st.st_size);
    } else {
      s.not_a_file = true;
    }
  }
}

}  // namespace

LoadResult load_manifests(const std::vector<std::string>& paths, std::istream& in) {
  Diagnostics read_errors;
  std::vector<SourceText> sources = read_sources(paths, in, read_errors);
  LoadResult r = load_texts(sources);
  stat_image_files(r.set);
  validate_disks(r.set, r.diags);
  r.diags.append(read_errors);
  return r;
}

}  // namespace banger
