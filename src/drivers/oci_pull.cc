#include "drivers/oci_pull.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/host_error.h"
#include "common/read_file.h"
#include "common/write_file.h"
#include "drivers/oci_flatten.h"
#include "drivers/oci_manifest.h"
#include "drivers/process.h"

namespace banger {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1 << 20;

std::string hex_of(const std::string& digest) { return digest.substr(7); }

std::string find_mke2fs() {
  for (const char* p : {"/usr/sbin/mke2fs", "/sbin/mke2fs", "/usr/bin/mke2fs"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  throw HostError("mke2fs is not installed (apt-get install e2fsprogs): it makes an OCI image's ext4 file",
                  ErrorCode::NotFound);
}

// The platform's image manifest: the one the reference names, or its entry
// in an index.
OciRegistry::Manifest image_manifest(OciRegistry& registry, const OciPullRequest& req, OciDocument& doc) {
  const std::string who = req.label + ": " + req.ref.str();
  OciRegistry::Manifest m = registry.manifest(req.ref.reference());
  std::string why;
  auto d = parse_oci_document(m.body, m.content_type, why);
  if (!d) throw HostError(who + ": its manifest " + why);
  if (d->is_index) {
    auto entry = select_platform(*d, req.platform, why);
    if (!entry) throw HostError(who + ": " + why + " (set spec.platform)", ErrorCode::NotFound);
    m = registry.manifest(entry->digest);
    d = parse_oci_document(m.body, m.content_type, why);
    if (!d) throw HostError(who + ": the " + req.platform.str() + " manifest " + why);
    if (d->is_index) throw HostError(who + ": the " + req.platform.str() + " entry is another index (not supported)");
  }
  doc = std::move(*d);
  return m;
}

// What a pull starts from: the registry (authenticated by now) and the
// platform's image manifest.
struct Pull {
  explicit Pull(const OciPullRequest& req)
      : registry(req.ref, req.insecure, req.credentials), manifest(image_manifest(registry, req, doc)) {}
  OciRegistry registry;
  OciDocument doc;
  OciRegistry::Manifest manifest;
};

// Two Images naming one manifest share its staging folder: one flattens,
// the other then finds the image made.
std::mutex& lock_for(const std::string& digest) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;
  std::lock_guard g(mu);
  auto& m = locks[digest];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

// The layers, each fetched into the artifact store by digest (or found
// there): verified while they stream, resumed after a cut.
std::vector<LayerFile> fetch_layers(ArtifactStore& store, OciRegistry& registry, const OciDocument& doc,
                                    const OciPullRequest& req, uint64_t& packed, int& downloaded,
                                    uint64_t* resumed = nullptr) {
  std::vector<LayerFile> layers;
  for (const OciDescriptor& l : doc.layers) {
    ArtifactRequest a;
    a.label = req.label;
    a.url = registry.blob_url(l.digest);
    a.sha256 = hex_of(l.digest);
    a.known_size = l.size;
    a.headers = registry.auth_headers();
    a.check_hint = "the registry sent a blob that is not " + l.digest + "; pull again, or check the registry";
    ArtifactFetch f = store.fetch(a);
    if (f.downloaded) ++downloaded;
    if (f.downloaded && resumed) *resumed += f.download.resumed_from;
    layers.push_back({f.path, l.digest});
    packed += l.size;
  }
  return layers;
}

// Without a size the unpacked content may be anything: cap it at what a
// sane image is, 64x the compressed layers and at least 1 GiB.
uint64_t content_cap(const OciPullRequest& req, uint64_t packed) {
  return req.size ? *req.size : std::max<uint64_t>(packed * 64, 1024 * kMiB);
}

// What a manifest was pulled as and which blobs it needs: gc keeps the
// layers of what is in use, and `banger images` lists these.
void write_meta(const std::string& state_dir, const OciPullRequest& req, const std::string& digest,
                const OciDocument& doc) {
  const std::string path = state_dir + "/images/oci/" + hex_of(digest) + ".json";
  if (::access(path.c_str(), F_OK) == 0) return;
  nlohmann::json layers = nlohmann::json::array();
  for (const OciDescriptor& l : doc.layers) layers.push_back(l.digest);
  nlohmann::json j = {{"ref", req.ref.str()}, {"platform", req.platform.str()}, {"digest", digest}, {"layers", layers}};
  write_file_atomically(path, j.dump(2) + "\n");
}

// A staging folder under STATE/images/oci/tmp and the partial result next
// to it: removed on the way out unless the result was renamed into place.
class Staging {
 public:
  Staging(const std::string& state_dir, const std::string& name, const std::string& who)
      : dir_(state_dir + "/images/oci/tmp/" + name), partial_(dir_ + ".part") {
    std::error_code ec;
    fs::create_directories(state_dir + "/images/oci/tmp", ec);
    if (ec) throw HostError(who + ": creating " + state_dir + "/images/oci/tmp: " + ec.message());
    clean();  // a previous run's, cut short
    fs::create_directory(dir_, ec);
    if (ec) throw HostError(who + ": creating " + dir_ + ": " + ec.message());
    ::chmod(dir_.c_str(), 0755);
  }
  ~Staging() { clean(); }
  const std::string& dir() const { return dir_; }
  const std::string& partial() const { return partial_; }

 private:
  void clean() {
    std::error_code rm;
    fs::remove_all(dir_, rm);
    fs::remove_all(partial_, rm);
  }
  std::string dir_, partial_;
};

// Errors carry the resource and the reference once.
[[noreturn]] void rethrow_as(const std::string& label, const std::string& who) {
  try {
    throw;
  } catch (const HostError& e) {
    const std::string what = e.what();
    if (what.rfind(label, 0) == 0) throw;
    throw HostError(who + ": " + what, e.code());
  }
}

// `rel` (a path inside `root`) with every symlink on the way resolved
// against `root`, as the guest would: an absolute target starts at the
// image's root, ".." stops there. The real path of a regular file or a
// folder, or "".
std::string resolve_in_root(const std::string& root, const std::string& rel) {
  std::vector<std::string> todo, done;
  auto push_parts = [&todo](const std::string& p) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      if (j > i) parts.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.begin(), parts.begin(), parts.end());
  };
  push_parts(rel);
  int links = 0;
  while (!todo.empty()) {
    std::string part = todo.front();
    todo.erase(todo.begin());
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string here = root;
    for (const std::string& d : done) here += "/" + d;
    here += "/" + part;
    struct stat st;
    if (::lstat(here.c_str(), &st) != 0) return "";
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return "";  // a loop
      char buf[4096];
      ssize_t n = ::readlink(here.c_str(), buf, sizeof buf);
      if (n <= 0 || n == static_cast<ssize_t>(sizeof buf)) return "";
      std::string target(buf, static_cast<size_t>(n));
      if (target[0] == '/') done.clear();
      push_parts(target);
      continue;
    }
    done.push_back(part);
    if (!todo.empty() && !S_ISDIR(st.st_mode)) return "";
    if (todo.empty()) return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? here : "";
  }
  return "";
}

// The first name of `exact` in /boot, else the newest (by version) that
// starts with a prefix, prefixes in order; resolved inside the root.
std::string find_boot_file(const std::string& root, const std::vector<std::string>& exact,
                           const std::vector<std::string>& prefixes) {
  std::vector<std::string> names;
  std::error_code ec;
  // /boot itself may be a link (to /usr/boot, say): resolved in the image.
  const std::string boot = resolve_in_root(root, "boot");
  if (boot.empty() || !fs::is_directory(boot, ec)) return "";
  for (const auto& e : fs::directory_iterator(boot, ec)) names.push_back(e.path().filename().string());
  for (const std::string& n : exact) {
    if (std::find(names.begin(), names.end(), n) != names.end()) {
      std::string f = resolve_in_root(root, "boot/" + n);
      if (!f.empty() && fs::is_regular_file(f, ec)) return f;
    }
  }
  for (const std::string& p : prefixes) {
    std::vector<std::string> hits;
    for (const std::string& n : names) {
      if (n.rfind(p, 0) == 0) hits.push_back(n);
    }
    std::sort(hits.begin(), hits.end(), [](const std::string& a, const std::string& b) {
      return ::strverscmp(a.c_str(), b.c_str()) > 0;
    });
    for (const std::string& n : hits) {
      std::string f = resolve_in_root(root, "boot/" + n);
      if (!f.empty() && fs::is_regular_file(f, ec)) return f;
    }
  }
  return "";
}

}  // namespace

std::string oci_image_path(const std::string& state_dir, const std::string& manifest_digest, uint64_t size) {
  return state_dir + "/images/oci/" + hex_of(manifest_digest) +
         (size ? "-" + std::to_string(size / kMiB) + "M" : std::string()) + ".ext4";
}

std::string resolve_oci_digest(OciRegistry& registry, const OciPullRequest& req) {
  OciDocument doc;
  return image_manifest(registry, req, doc).digest;
}

namespace {

// The image made from manifest `digest` (at this size), if it is there: an
// image is renamed into place only when whole, so one stat tells.
bool cached_image(const std::string& state_dir, const std::string& digest, uint64_t size, OciPulled& out) {
  out.manifest_digest = digest;
  out.path = oci_image_path(state_dir, digest, size);
  struct stat st;
  if (::stat(out.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.cached = true;
  out.size = static_cast<uint64_t>(st.st_size);
  return true;
}

// A kernel image's files, if they are there (the folder is renamed into
// place only when whole).
bool cached_kernel(const std::string& state_dir, const std::string& digest, OciKernelFiles& out) {
  const std::string dir = state_dir + "/images/oci/" + hex_of(digest) + ".boot";
  out.manifest_digest = digest;
  struct stat st;
  if (::stat((dir + "/kernel").c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.kernel = dir + "/kernel";
  out.initrd = ::access((dir + "/initrd").c_str(), F_OK) == 0 ? dir + "/initrd" : "";
  out.cached = true;
  return true;
}

}  // namespace

OciPulled pull_oci_image(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req) {
  const std::string who = req.label + ": " + req.ref.str();
  OciPulled out;
  // Pinned by a digest whose image is made already (what apply asks for,
  // and every VM start after it): no registry is asked, so a VM starts
  // while the registry is away. An index's digest names no image file and
  // goes on to the registry, as a tag does.
  if (!req.ref.digest.empty() && cached_image(state_dir, req.ref.digest, req.size.value_or(0), out)) return out;
  Pull p(req);
  OciRegistry& registry = p.registry;
  const OciDocument& doc = p.doc;
  const OciRegistry::Manifest& m = p.manifest;
  std::lock_guard serial(lock_for(m.digest));
  if (cached_image(state_dir, m.digest, req.size.value_or(0), out)) {
    write_meta(state_dir, req, m.digest, doc);
    return out;
  }
  uint64_t packed = 0;
  std::vector<LayerFile> layers =
      fetch_layers(store, registry, doc, req, packed, out.layers_downloaded, &out.bytes_resumed);
  try {
    Staging staging(state_dir, hex_of(m.digest), who);
    FlattenStats stats = flatten_layers(layers, staging.dir(), content_cap(req, packed));
    out.content_bytes = stats.bytes;
    // Content plus 25% for ext4's own metadata and inodes, rounded up to a
    // MiB, with 16 MiB at least (a journal and tables need room too).
    uint64_t size = req.size ? *req.size : (stats.bytes + stats.bytes / 4 + 16 * kMiB + kMiB - 1) / kMiB * kMiB;
    ToolRun r = run_tool({find_mke2fs(), "-q", "-F", "-t", "ext4", "-d", staging.dir(), "-E", "root_owner=0:0",
                          staging.partial(), std::to_string(size / 1024) + "k"});
    if (r.exit_code != 0) {
      throw HostError(who + ": mke2fs could not make a " + std::to_string(size / kMiB) + " MiB ext4 image" +
                      (req.size ? " (spec.size may be too small for " + std::to_string(stats.bytes / kMiB) + " MiB of files)"
                                : "") +
                      ": " + r.output);
    }
    if (::chmod(staging.partial().c_str(), 0444) != 0) throw HostError::from_errno("chmod " + staging.partial(), errno);
    write_meta(state_dir, req, m.digest, doc);
    if (::rename(staging.partial().c_str(), out.path.c_str()) != 0) {
      throw HostError::from_errno("renaming " + staging.partial() + " to " + out.path, errno);
    }
    out.size = size;
  } catch (...) {
    rethrow_as(req.label, who);
  }
  return out;
}

OciKernelFiles pull_oci_kernel(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req) {
  const std::string who = req.label + ": " + req.ref.str();
  OciKernelFiles out;
  // As for an image: pinned and made already, no registry is asked.
  if (!req.ref.digest.empty() && cached_kernel(state_dir, req.ref.digest, out)) return out;
  Pull p(req);
  OciRegistry& registry = p.registry;
  const OciDocument& doc = p.doc;
  const OciRegistry::Manifest& m = p.manifest;
  const std::string dir = state_dir + "/images/oci/" + hex_of(m.digest) + ".boot";
  std::lock_guard serial(lock_for(m.digest));
  if (cached_kernel(state_dir, m.digest, out)) {
    write_meta(state_dir, req, m.digest, doc);
    return out;
  }
  uint64_t packed = 0;
  std::vector<LayerFile> layers = fetch_layers(store, registry, doc, req, packed, out.layers_downloaded);
  try {
    Staging staging(state_dir, hex_of(m.digest) + ".boot", who);
    flatten_layers(layers, staging.dir(), content_cap(req, packed));
    const std::string root = staging.dir();
    std::string kernel = find_boot_file(root, {"vmlinux"}, {"vmlinux-", "vmlinuz", "bzImage"});
    if (kernel.empty()) {
      throw HostError(who + ": the image has no kernel (expected /boot/vmlinux, /boot/vmlinux-*, /boot/vmlinuz or "
                      "/boot/vmlinuz-*, a regular file or a link to one inside the image)",
                      ErrorCode::NotFound);
    }
    std::string initrd = find_boot_file(root, {"initrd.img", "initrd"}, {"initrd.img-", "initramfs", "initrd"});
    std::error_code ec;
    fs::create_directory(staging.partial(), ec);
    if (ec) throw HostError(who + ": creating " + staging.partial() + ": " + ec.message());
    for (auto [from, name] : {std::pair{kernel, "kernel"}, std::pair{initrd, "initrd"}}) {
      if (from.empty()) continue;
      const std::string to = staging.partial() + "/" + name;
      if (::rename(from.c_str(), to.c_str()) != 0) throw HostError::from_errno("renaming " + from + " to " + to, errno);
      ::chmod(to.c_str(), 0444);
    }
    ::chmod(staging.partial().c_str(), 0755);
    write_meta(state_dir, req, m.digest, doc);
    if (::rename(staging.partial().c_str(), dir.c_str()) != 0) {
      throw HostError::from_errno("renaming " + staging.partial() + " to " + dir, errno);
    }
  } catch (...) {
    rethrow_as(req.label, who);
  }
  cached_kernel(state_dir, m.digest, out);
  out.cached = false;
  return out;
}

std::vector<OciCached> list_oci_cache(const std::string& state_dir) {
  const std::string dir = state_dir + "/images/oci";
  std::map<std::string, OciCached> by_hex;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "tmp" || name.size() < 64) continue;
    const std::string hex = name.substr(0, 64);
    OciCached& c = by_hex[hex];
    c.manifest_digest = "sha256:" + hex;
    if (name == hex + ".json") {
      auto text = read_small_file(e.path().string());
      auto j = nlohmann::json::parse(text.value_or(""), nullptr, false);
      if (j.is_object()) {
        c.ref = j.value("ref", "");
        c.platform = j.value("platform", "");
        if (j.contains("layers") && j["layers"].is_array()) {
          for (const auto& l : j["layers"]) {
            if (l.is_string()) c.layers.push_back(l.get<std::string>());
          }
        }
      }
      continue;
    }
    c.files.push_back(e.path().string());
    std::error_code sec;
    if (e.is_directory(sec)) {
      for (const auto& f : fs::recursive_directory_iterator(e.path(), sec)) {
        std::error_code fec;
        if (f.is_regular_file(fec)) c.bytes += f.file_size(fec);
      }
    } else {
      struct stat st;
      if (::stat(e.path().c_str(), &st) == 0) c.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  std::vector<OciCached> out;
  for (auto& [hex, c] : by_hex) {
    std::sort(c.files.begin(), c.files.end());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace banger
