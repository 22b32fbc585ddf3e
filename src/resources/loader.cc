#include "resources/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <cerrno>
#include <cstring>

#include "resources/yaml_scalar.h"
#include <yaml-cpp/depthguard.h>

namespace fs = std::filesystem;

namespace banger {

namespace {
bool is_manifest_name(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

bool is_hidden(const fs::path& p) {
  auto name = p.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

void file_error(Diagnostics& diags, const std::string& file, const std::string& message) {
  diags.add(Diagnostic{Mark{file, 0, 0}, "", "", "", message});
}

bool read_stream(std::istream& in, const std::string& name, std::string& out, Diagnostics& diags) {
  std::string buf(64 * 1024, '\0');
  out.clear();
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.append(buf.data(), static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxManifestBytes) {
      file_error(diags, name,
                 "file is larger than " + std::to_string(kMaxManifestBytes >> 20) +
                     " MiB (expected a manifest; split it into smaller files)");
      return false;
    }
  }
  return true;
}

// Canonical paths already read: `-f dir -f dir/sub` reads each file once.
using Seen = std::set<std::string>;

void read_file(const fs::path& path, std::vector<SourceText>& out, Diagnostics& diags, Seen& seen) {
  std::string name = path.string();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  if (!seen.insert(ec ? name : canonical.string()).second) return;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    file_error(diags, name, "cannot be read (" + std::string(std::strerror(errno)) + ")");
    return;
  }
  SourceText src{name, path.parent_path().empty() ? "." : path.parent_path().string(), {}};
  if (read_stream(f, name, src.text, diags)) out.push_back(std::move(src));
}

void read_folder(const fs::path& dir, std::vector<SourceText>& out, Diagnostics& diags, Seen& seen) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (is_hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (is_manifest_name(it->path()) && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) {
    file_error(diags, dir.string(), "cannot be read (" + ec.message() + ")");
    return;
  }
  if (files.empty()) {
    file_error(diags, dir.string(), "folder has no manifests (expected *.yaml or *.yml files)");
    return;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) read_file(f, out, diags, seen);
}
}  // namespace

std::vector<SourceText> read_sources(const std::vector<std::string>& paths, std::istream& in,
                                     Diagnostics& diags) {
  std::vector<SourceText> out;
  Seen seen;
  for (const auto& p : paths) {
    if (p == "-") {
      std::error_code ec;
      fs::path cwd = fs::current_path(ec);
      SourceText src{"<stdin>", ec ? "." : cwd.string(), {}};
      if (read_stream(in, src.name, src.text, diags)) out.push_back(std::move(src));
      continue;
    }
    std::error_code ec;
    auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      file_error(diags, p, "no such file or folder");
    } else if (fs::is_directory(st)) {
      read_folder(p, out, diags, seen);
    } else {
      read_file(p, out, diags, seen);
    }
  }
  return out;
}

std::vector<Document> parse_documents(const SourceText& src, Diagnostics& diags) {
  std::vector<Document> docs;
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(src.text);
  } catch (const YAML::DeepRecursion& e) {
    diags.add(Diagnostic{to_mark(src.name, e.mark), "", "", "",
                         "invalid YAML: nested more than " + std::to_string(e.depth()) +
                             " levels deep (expected a manifest, which nests a few levels)"});
    return docs;
  } catch (const YAML::Exception& e) {
    // ParserException carries the position; msg is bare (and may quote raw
    // bytes of the input, so it is made printable).
    diags.add(Diagnostic{to_mark(src.name, e.mark), "", "", "",
                         "invalid YAML: " + printable(e.msg.empty() ? std::string(e.what()) : e.msg)});
    return docs;
  } catch (const std::exception& e) {
    diags.add(Diagnostic{Mark{src.name, 1, 1}, "", "", "", std::string("invalid YAML: ") + e.what()});
    return docs;
  }
  for (auto& n : nodes) {
    if (n.IsNull()) continue;  // "---" with nothing, or only comments
    docs.push_back(Document{src.name, src.base_dir, n});
  }
  if (docs.empty()) {
    file_error(diags, src.name,
               "file has no documents (expected at least one banger resource with apiVersion "
               "and kind)");
  }
  return docs;
}

}  // namespace banger
