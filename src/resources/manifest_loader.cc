#include "resources/manifest_loader.h"

#include <sys/stat.h>

#include <iterator>
#include <utility>

#include "resources/decode.h"
#include "resources/validate.h"

namespace banger {

namespace {
template <class T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  if (to.empty()) {
    to = std::move(from);
  } else {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  }
}
}  // namespace

LoadResult load_texts(const std::vector<SourceText>& sources) {
  LoadResult r;
  for (const SourceText& src : sources) {
    // Each document is decoded as soon as it is parsed (its nodes then go);
    // a file that turns out not to parse yields nothing, so what it gave is
    // kept aside until then.
    ManifestSet file_set;
    Diagnostics file_diags;
    size_t documents = 0;
    if (!for_each_document(src, r.diags, [&](const Document& doc) {
          ++documents;
          decode_document(doc, file_set, file_diags);
        })) {
      continue;
    }
    r.documents += documents;
    r.diags.append(std::move(file_diags));
    append(r.set.networks, std::move(file_set.networks));
    append(r.set.kernels, std::move(file_set.kernels));
    append(r.set.images, std::move(file_set.images));
    append(r.set.vms, std::move(file_set.vms));
    append(r.set.port_forwards, std::move(file_set.port_forwards));
  }
  complete_defaults(r.set);
  validate_references(r.set, r.diags);
  return r;
}

namespace {

// A file named by path: what it is, so validation can refuse a folder, a
// FIFO or a device, and check diskSize against an image's size, before
// anything is made. A missing file is left to apply (it may be built later).
void stat_artifact(ArtifactSource& s) {
  if (!s.path.set || s.resolved_path.empty()) return;
  struct stat st {};
  if (::stat(s.resolved_path.c_str(), &st) != 0) {
    s.dangling_link = ::lstat(s.resolved_path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
    return;
  }
  if (S_ISREG(st.st_mode)) {
    s.known_size = static_cast<uint64_t>(st.st_size);
  } else {
    s.not_a_file = true;
  }
}

void stat_artifact_files(ManifestSet& set) {
  for (Image& img : set.images) stat_artifact(img.source);
  for (Kernel& k : set.kernels) {
    stat_artifact(k.source);
    if (k.initrd) stat_artifact(*k.initrd);
  }
}

}  // namespace

LoadResult load_manifests(const std::vector<std::string>& paths, std::istream& in) {
  Diagnostics read_errors;
  std::vector<SourceText> sources = read_sources(paths, in, read_errors);
  LoadResult r = load_texts(sources);
  stat_artifact_files(r.set);
  validate_disks(r.set, r.diags);
  r.diags.append(read_errors);
  return r;
}

}  // namespace banger
