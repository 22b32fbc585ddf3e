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
#include <functional>
#include <optional>
#include <set>
#include <cerrno>
#include <cstring>

#include "resources/fast_yaml.h"
#include "resources/yaml_scalar.h"
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/node/detail/memory.h>
#include <yaml-cpp/node/detail/node.h>

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
  // One allocation of the right size, not a doubling string's up to twice it.
  if (S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<size_t>(st.st_size) <= kMaxManifestBytes) {
    src.text.reserve(static_cast<size_t>(st.st_size));
  }
  bool ok = read_fd(fd, name, src.text, diags);
  ::close(fd);
  if (ok) out.push_back(std::move(src));
}

// Walks `dir` depth first; every entry it cannot read is reported by name
// (a folder the user cannot read is not "no manifests there").
// A file symlink found in a folder must stay inside the folder named with -f
// (Argo CD's "out-of-bounds symlink" rule): under `watch` of a repository
// anyone can push to, a link to /etc/shadow would put that file's first line
// into an error message and the logs (outside_folder, loader.h).
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
    } else if (is_manifest_name(p) && it->is_symlink(type_ec) && outside_folder(p.string(), root.string())) {
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

bool outside_folder(const std::string& path, const std::string& root) {
  std::error_code ec;
  fs::path target = fs::weakly_canonical(path, ec);
  fs::path base = fs::weakly_canonical(root, ec);
  if (ec) return true;
  auto [b, t] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  return b != base.end();
}

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
// A tag for the as_if specialization below.
struct NodeAccess {};
}  // namespace
}  // namespace banger

// yaml-cpp 0.7 builds a document's Node with NodeBuilder, which it does not
// install; LoadAll, the public way, keeps every document of a file alive, at
// some 180 times the text's size. Node befriends every as_if<T, S>, so this
// specialization lets DocumentBuilder (below) make a Node from the nodes it
// built, as NodeBuilder::Root() does. A yaml-cpp that drops the friendship
// fails to compile here rather than misbehaving.
namespace YAML {
template <>
struct as_if<banger::NodeAccess, banger::NodeAccess> {
  static Node make(detail::node& root, detail::shared_memory_holder memory) {
    return Node(root, std::move(memory));
  }
};
}  // namespace YAML

namespace banger {
namespace {

// Thrown when a document or a file is past a limit; reported as is, without
// "invalid YAML".
struct TooLarge {
  YAML::Mark mark;
  std::string message;
};

// One document's nodes at a time: yaml-cpp's NodeBuilder (same events, same
// nodes, marks, tags and styles), with a fresh node store for each document,
// so that a document's nodes go as soon as its decoded resource is made.
//
// It is also the guard against a parser that makes no progress: yaml-cpp 0.7
// loops forever on a document that starts with a stray ',' (it reports an
// empty document without moving on); a document that starts where the last
// one did is an error.
class DocumentBuilder : public YAML::EventHandler {
 public:
  explicit DocumentBuilder(const std::string& text) : text_(text) {}

  /// The document just handled (a null Node for an empty one); the builder
  /// keeps no reference to it.
  YAML::Node take_root() {
    YAML::detail::shared_memory_holder memory = std::move(memory_);
    if (!root_) return YAML::Node();
    YAML::detail::node& root = *root_;
    root_ = nullptr;
    return YAML::as_if<NodeAccess, NodeAccess>::make(root, std::move(memory));
  }
  const YAML::Mark& document_start() const { return start_; }

  void OnDocumentStart(const YAML::Mark& m) override {
    if (m.pos == last_pos_) {
      std::string what = m.pos >= 0 && static_cast<size_t>(m.pos) < text_.size()
                             ? "unexpected " + quote(text_.substr(static_cast<size_t>(m.pos), 1))
                             : "unexpected character";
      throw YAML::ParserException(m, what + " outside a flow collection");
    }
    last_pos_ = m.pos;
    start_ = m;
    memory_ = std::make_shared<YAML::detail::memory_holder>();
    root_ = nullptr;
    stack_.clear();
    anchors_.assign(1, nullptr);  // anchors count from 1
    keys_.clear();
    map_depth_ = 0;
    nodes_ = 0;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    push(mark, anchor).set_null();
    pop();
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    push(*anchors_[anchor]);
    pop();
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YAML::detail::node& n = push(mark, anchor);
    n.set_scalar(value);
    n.set_tag(tag);
    pop();
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    YAML::detail::node& n = push(mark, anchor);
    n.set_tag(tag);
    n.set_type(YAML::NodeType::Sequence);
    n.set_style(style);
  }
  void OnSequenceEnd() override { pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    YAML::detail::node& n = push(mark, anchor);
    n.set_type(YAML::NodeType::Map);
    n.set_tag(tag);
    n.set_style(style);
    ++map_depth_;
  }
  void OnMapEnd() override {
    --map_depth_;
    pop();
  }

 private:
  YAML::detail::node& push(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (++nodes_ > kMaxNodesPerDocument) {
      throw TooLarge{start_, "document has more than " + std::to_string(kMaxNodesPerDocument) +
                                 " YAML nodes (expected a banger resource, which has a few dozen)"};
    }
    YAML::detail::node& n = memory_->create_node();
    n.set_mark(mark);
    if (anchor) anchors_.push_back(&n);  // the parser numbers anchors 1, 2, ... in order
    push(n);
    return n;
  }
  void push(YAML::detail::node& n) {
    bool needs_key = !stack_.empty() && stack_.back()->type() == YAML::NodeType::Map &&
                     keys_.size() < map_depth_;
    stack_.push_back(&n);
    if (needs_key) keys_.emplace_back(&n, false);
  }
  void pop() {
    if (stack_.size() == 1) {
      root_ = stack_[0];
      stack_.pop_back();
      return;
    }
    YAML::detail::node& n = *stack_.back();
    stack_.pop_back();
    YAML::detail::node& collection = *stack_.back();
    if (collection.type() == YAML::NodeType::Sequence) {
      collection.push_back(n, memory_);
    } else if (collection.type() == YAML::NodeType::Map) {
      auto& [key, has_key] = keys_.back();
      if (has_key) {
        collection.insert(*key, n, memory_);
        keys_.pop_back();
      } else {
        has_key = true;
      }
    }
  }

  const std::string& text_;
  int last_pos_ = -1;
  YAML::Mark start_ = YAML::Mark::null_mark();
  YAML::detail::shared_memory_holder memory_;
  YAML::detail::node* root_ = nullptr;
  std::vector<YAML::detail::node*> stack_;
  std::vector<YAML::detail::node*> anchors_;
  std::vector<std::pair<YAML::detail::node*, bool>> keys_;
  size_t map_depth_ = 0;
  size_t nodes_ = 0;
};

// The file's text as a stream, without copying it (an istringstream would).
class TextBuffer : public std::streambuf {
 public:
  explicit TextBuffer(const std::string& text) {
    char* p = const_cast<char*>(text.data());  // only ever read
    setg(p, p, p + text.size());
  }
};

void yaml_error(Diagnostics& diags, const SourceText& src) {
  try {
    throw;
  } catch (const TooLarge& e) {
    diags.add(Diagnostic{to_mark(src.name, e.mark), "", "", "", e.message});
  } catch (const YAML::DeepRecursion& e) {
    diags.add(Diagnostic{to_mark(src.name, e.mark), "", "", "",
                         "invalid YAML: nested more than " + std::to_string(e.depth()) +
                             " levels deep (expected a manifest, which nests a few levels)"});
  } catch (const YAML::Exception& e) {
    // ParserException carries the position; msg is bare (and may quote raw
    // bytes of the input, so it is made printable).
    diags.add(Diagnostic{to_mark(src.name, e.mark), "", "", "",
                         "invalid YAML: " + printable(e.msg.empty() ? std::string(e.what()) : e.msg)});
  } catch (const std::exception& e) {
    diags.add(Diagnostic{Mark{src.name, 1, 1}, "", "", "", std::string("invalid YAML: ") + e.what()});
  }
}
}  // namespace

bool for_each_document(const SourceText& src, Diagnostics& diags,
                       const std::function<void(const Document&)>& each) {
  // The plain subset manifests are written in goes through FastYaml, which
  // gives yaml-cpp's very events some 20 times faster (checked against
  // yaml-cpp by tests/unit/fast_yaml_test.cc and the fast_yaml fuzz
  // target); anything else, errors included, through yaml-cpp itself.
  FastYaml fast(src.text);
  const bool use_fast = fast.scan();
  TextBuffer buffer(src.text);
  std::istream in(&buffer);
  std::optional<YAML::Parser> parser;
  DocumentBuilder builder(src.text);
  size_t documents = 0;
  while (true) {
    Document doc{src.name, src.base_dir, YAML::Node()};
    try {
      if (use_fast) {
        if (!fast.HandleNextDocument(builder)) break;
      } else {
        if (!parser) parser.emplace(in);
        if (!parser->HandleNextDocument(builder)) break;
      }
      doc.root = builder.take_root();
      if (doc.root.IsNull()) continue;  // "---" with nothing, or only comments
      if (++documents > kMaxDocumentsPerFile) {
        throw TooLarge{builder.document_start(),
                       "file has more than " + std::to_string(kMaxDocumentsPerFile) +
                           " documents (split it into smaller files)"};
      }
    } catch (...) {
      yaml_error(diags, src);
      return false;
    }
    // Outside the try: what `each` throws is not a YAML syntax error.
    each(doc);
  }
  if (documents == 0) {
    file_error(diags, src.name,
               "file has no documents (expected at least one banger resource with apiVersion "
               "and kind)");
    return false;
  }
  return true;
}

std::vector<Document> parse_documents(const SourceText& src, Diagnostics& diags) {
  std::vector<Document> docs;
  if (!for_each_document(src, diags, [&](const Document& d) { docs.push_back(d); })) docs.clear();
  return docs;
}

}  // namespace banger
