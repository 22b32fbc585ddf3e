#include "resources/loader.h"

#include <algorithm>
#include <filesystem>
#include <fcntl.h>
#include <poll.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <cerrno>
#include <cstring>

#include "resources/yaml_scalar.h"
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

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

// How long a FIFO named with -f may go without a writer before we give up:
// `-f <(generate)` has one at once; a forgotten mkfifo must not hang CI.
constexpr int kFifoWriterWaitMs = 5000;

bool read_fd(int fd, const std::string& name, std::string& out, Diagnostics& diags) {
  char buf[64 * 1024];
  out.clear();
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      file_error(diags, name, "cannot be read (" + std::string(std::strerror(errno)) + ")");
      return false;
    }
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxManifestBytes) {
      file_error(diags, name,
                 "file is larger than " + std::to_string(kMaxManifestBytes >> 20) +
                     " MiB (expected a manifest; split it into smaller files)");
      return false;
    }
  }
}

void read_file(const fs::path& path, std::vector<SourceText>& out, Diagnostics& diags, Seen& seen,
               bool named_by_user) {
  std::string name = path.string();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  if (!seen.insert(ec ? name : canonical.string()).second) return;
  // O_NONBLOCK so that opening a FIFO without a writer cannot block.
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    file_error(diags, name, "cannot be read (" + std::string(std::strerror(errno)) + ")");
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    file_error(diags, name, "cannot be read (" + std::string(std::strerror(errno)) + ")");
    ::close(fd);
    return;
  }
  struct statfs fs_info {};
  bool anonymous_pipe = ::fstatfs(fd, &fs_info) == 0 && fs_info.f_type == PIPEFS_MAGIC;
  // An anonymous pipe (`-f <(generate)`) has its writer: wait as long as it
  // takes. A named FIFO may have none: wait a bounded time for one.
  if (S_ISFIFO(st.st_mode) && !anonymous_pipe && !named_by_user) {
    // Found while walking a folder: not something to wait on every pass.
    ::close(fd);
    file_error(diags, name, "is a FIFO, not a manifest file (remove it or name it with -f)");
    return;
  }
  if (S_ISFIFO(st.st_mode) && !anonymous_pipe) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kFifoWriterWaitMs) <= 0) {
      ::close(fd);
      file_error(diags, name,
                 "is a FIFO that nobody wrote to within " + std::to_string(kFifoWriterWaitMs / 1000) +
                     " s (expected a manifest file, or -f - for standard input)");
      return;
    }
  } else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    file_error(diags, name, "is not a regular file (expected a manifest file or folder)");
    return;
  }
  // Blocking reads from here on (a FIFO's writer may pause); without that a
  // slow writer would read as an early end of file.
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    file_error(diags, name, "cannot be read (" + std::string(std::strerror(errno)) + ")");
    ::close(fd);
    return;
  }
  SourceText src{name, path.parent_path().empty() ? "." : path.parent_path().string(), {}};
  bool ok = read_fd(fd, name, src.text, diags);
  ::close(fd);
  if (ok) out.push_back(std::move(src));
}

// Walks `dir` depth first; every entry it cannot read is reported by name
// (a folder the user cannot read is not "no manifests there").
// A file symlink found in a folder must stay inside the folder named with -f
// (Argo CD's "out-of-bounds symlink" rule): under `watch` of a repository
// anyone can push to, a link to /etc/shadow would put that file's first line
// into an error message and the logs.
bool out_of_bounds(const fs::path& link, const fs::path& root) {
  std::error_code ec;
  fs::path target = fs::weakly_canonical(link, ec);
  fs::path base = fs::weakly_canonical(root, ec);
  if (ec) return true;
  auto [b, t] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  return b != base.end();
}

void collect(const fs::path& dir, const fs::path& root, std::vector<fs::path>& files, Diagnostics& diags,
             Seen& dirs) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(dir, ec);
  if (!dirs.insert(ec ? dir.string() : canonical.string()).second) return;  // a symlink loop
  fs::directory_iterator it(dir, ec);
  if (ec) {
    file_error(diags, dir.string(), "cannot be read (" + ec.message() + ")");
    return;
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    if (is_hidden(p)) continue;
    std::error_code type_ec;
    // Folder symlinks are not followed (as kubectl -R): a link to / would
    // walk the whole filesystem, and a watcher's prune scope must stay inside.
    bool is_dir = it->is_directory(type_ec) && !it->is_symlink(type_ec);
    if (it->is_directory(type_ec) && it->is_symlink(type_ec)) continue;
    if (is_dir) {
      collect(p, root, files, diags, dirs);
    } else if (is_manifest_name(p) && it->is_symlink(type_ec) && out_of_bounds(p, root)) {
      file_error(diags, p.string(),
                 "is a symlink that leads out of " + root.string() + "; refused (copy the file into the folder)");
    } else if (is_manifest_name(p)) {
      // Unreadable entries (a dangling or looping symlink) are reported by read_file.
      files.push_back(p);
    }
  }
  if (ec) file_error(diags, dir.string(), "cannot be read (" + ec.message() + ")");
}

void read_folder(const fs::path& dir, std::vector<SourceText>& out, Diagnostics& diags, Seen& seen) {
  std::vector<fs::path> files;
  Seen dirs;
  size_t errors_before = diags.size();
  collect(dir, dir, files, diags, dirs);
  if (files.empty() && diags.size() == errors_before) {
    file_error(diags, dir.string(), "folder has no manifests (expected *.yaml or *.yml files)");
    return;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) read_file(f, out, diags, seen, false);
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
    std::error_code link_ec;
    if ((ec || !fs::exists(st)) && !fs::is_symlink(fs::symlink_status(p, link_ec))) {
      file_error(diags, p, "no such file or folder");
    } else if (fs::is_directory(st)) {
      read_folder(p, out, diags, seen);
    } else {
      read_file(p, out, diags, seen, true);
    }
  }
  return out;
}

namespace {
// yaml-cpp 0.7 loops forever on a document that starts with a stray ',' (its
// parser reports an empty document without moving on). A first pass over the
// parser's events stops where a document starts at the same place as the last.
class StuckParserGuard : public YAML::EventHandler {
 public:
  explicit StuckParserGuard(const std::string& text) : text_(text) {}
  void OnDocumentStart(const YAML::Mark& m) override {
    if (m.pos == last_pos_) {
      std::string what = m.pos >= 0 && static_cast<size_t>(m.pos) < text_.size()
                             ? "unexpected " + quote(text_.substr(static_cast<size_t>(m.pos), 1))
                             : "unexpected character";
      throw YAML::ParserException(m, what + " outside a flow collection");
    }
    last_pos_ = m.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& text_;
  int last_pos_ = -1;
};

void check_parser_progress(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  StuckParserGuard guard(text);
  while (parser.HandleNextDocument(guard)) {
  }
}
}  // namespace

std::vector<Document> parse_documents(const SourceText& src, Diagnostics& diags) {
  std::vector<Document> docs;
  std::vector<YAML::Node> nodes;
  try {
    check_parser_progress(src.text);
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
