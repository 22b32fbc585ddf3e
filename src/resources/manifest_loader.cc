#include "resources/manifest_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <thread>
#include <utility>

#include "resources/decode.h"
#include "resources/guest_files.h"
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

namespace {

// What one file, or one piece of a large file, gave.
struct Part {
  bool ok = false;
  size_t documents = 0;
  ManifestSet set;
  Diagnostics diags;  ///< decode's findings; a YAML error makes ok false
};

// Parses and decodes the documents of `src`, each as soon as it is parsed
// (its nodes then go). A file that turns out not to parse yields nothing but
// its YAML error, so what it gave is kept aside until then.
Part load_one(const SourceText& src, Diagnostics& yaml_errors) {
  Part p;
  p.ok = for_each_document(src, yaml_errors, [&](const Document& doc) {
    ++p.documents;
    decode_document(doc, p.set, p.diags);
  });
  return p;
}

// Where a large file may be cut into pieces that parse on their own: at
// lines that are exactly a document start ("---", alone or before a space).
// A "---" at the start of a line ends whatever came before in YAML 1.2, a
// block scalar included, so a piece parses to the documents the whole file
// has there. A file with directives ("%YAML") is not cut: they belong to the
// document after them.
std::vector<size_t> cut_points(const std::string& text, size_t pieces) {
  std::vector<size_t> cuts;
  if (pieces < 2) return cuts;
  if (text.rfind('%', 0) == 0 || text.find("\n%") != std::string::npos) return cuts;
  const size_t step = text.size() / pieces;
  size_t from = step;
  while (cuts.size() + 1 < pieces && from < text.size()) {
    size_t at = text.find("\n---", from);
    while (at != std::string::npos) {
      const size_t after = at + 4;
      if (after == text.size() || text[after] == '\n' || text[after] == ' ' || text[after] == '\r' ||
          text[after] == '\t')
        break;
      at = text.find("\n---", after);
    }
    if (at == std::string::npos) break;
    cuts.push_back(at + 1);
    from = std::max(at + 1 + step, at + 2);
  }
  return cuts;
}

// Bytes [from, to) of `src`, with everything before them blanked to spaces
// (newlines kept): positions, lines and columns in the piece are those of
// the whole file, so every mark and message reads the same.
SourceText piece_of(const SourceText& src, size_t from, size_t to) {
  SourceText p{src.name, src.base_dir, std::string()};
  p.text.reserve(to);
  for (size_t i = 0; i < from; ++i) p.text += src.text[i] == '\n' ? '\n' : ' ';
  p.text.append(src.text, from, to - from);
  return p;
}

// Files below this are not cut: a thread costs more than parsing them.
constexpr size_t kMinPiece = 32 * 1024;

}  // namespace

LoadResult load_texts(const std::vector<SourceText>& sources, size_t threads) {
  // Files, and pieces of large files, are parsed and decoded on every core;
  // yaml-cpp parses about 2 MB/s, so a fleet of a thousand VMs in one file
  // took 200 ms on one. The results are put together in file and document
  // order, so the outcome is the one a single pass gives.
  const size_t cores = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  struct Unit {
    size_t source;
    SourceText piece;  ///< empty name: the whole source
  };
  std::vector<Unit> units;
  std::vector<std::vector<size_t>> units_of(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceText& src = sources[i];
    const size_t pieces = std::min(cores, src.text.size() / kMinPiece);
    std::vector<size_t> cuts = cut_points(src.text, pieces);
    if (cuts.empty()) {
      units_of[i].push_back(units.size());
      units.push_back({i, SourceText{}});
      continue;
    }
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(src.text.size());
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      units_of[i].push_back(units.size());
      units.push_back({i, piece_of(src, cuts[c], cuts[c + 1])});
    }
  }
  std::vector<Part> parts(units.size());
  std::vector<Diagnostics> yaml_errors(units.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t u; (u = next++) < units.size();) {
      const SourceText& src = units[u].piece.name.empty() ? sources[units[u].source] : units[u].piece;
      parts[u] = load_one(src, yaml_errors[u]);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < std::min(cores, units.size()); ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();

  LoadResult r;
  auto take = [&r](Part& p) {
    r.documents += p.documents;
    r.diags.append(std::move(p.diags));
    append(r.set.networks, std::move(p.set.networks));
    append(r.set.kernels, std::move(p.set.kernels));
    append(r.set.images, std::move(p.set.images));
    append(r.set.vms, std::move(p.set.vms));
    append(r.set.port_forwards, std::move(p.set.port_forwards));
    append(r.set.nodes, std::move(p.set.nodes));
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::vector<size_t>& mine = units_of[i];
    if (mine.size() == 1) {
      if (parts[mine[0]].ok) {
        take(parts[mine[0]]);
      } else {
        r.diags.append(std::move(yaml_errors[mine[0]]));
      }
      continue;
    }
    bool pieces_ok = true;
    size_t documents = 0;
    for (size_t u : mine) {
      pieces_ok = pieces_ok && parts[u].ok;
      documents += parts[u].documents;
    }
    if (pieces_ok && documents <= kMaxDocumentsPerFile) {
      for (size_t u : mine) take(parts[u]);
      continue;
    }
    // A piece that did not parse, or a cut file over the document limit, is
    // done again whole: its error is then the one a single pass gives.
    Diagnostics errors;
    Part whole = load_one(sources[i], errors);
    if (whole.ok) {
      take(whole);
    } else {
      r.diags.append(std::move(errors));
    }
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
  load_guest_files(r.set, r.diags);
  validate_disks(r.set, r.diags);
  r.diags.append(read_errors);
  return r;
}

}  // namespace banger
