#include "drivers/oci_pull.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "common/host_error.h"
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

}  // namespace

std::string oci_image_path(const std::string& state_dir, const std::string& manifest_digest) {
  return state_dir + "/images/oci/" + hex_of(manifest_digest) + ".ext4";
}

std::string resolve_oci_digest(OciRegistry& registry, const OciPullRequest& req) {
  OciDocument doc;
  return image_manifest(registry, req, doc).digest;
}

OciPulled pull_oci_image(ArtifactStore& store, const std::string& state_dir, const OciPullRequest& req) {
  const std::string who = req.label + ": " + req.ref.str();
  OciRegistry registry(req.ref, req.insecure, req.credentials);
  OciDocument doc;
  OciRegistry::Manifest m = image_manifest(registry, req, doc);
  OciPulled out;
  out.manifest_digest = m.digest;
  out.path = oci_image_path(state_dir, m.digest);
  std::lock_guard serial(lock_for(m.digest));
  struct stat st;
  if (::stat(out.path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    out.cached = true;
    out.size = static_cast<uint64_t>(st.st_size);
    return out;
  }

  std::vector<LayerFile> layers;
  uint64_t packed = 0;
  for (const OciDescriptor& l : doc.layers) {
    ArtifactRequest a;
    a.label = req.label;
    a.url = registry.blob_url(l.digest);
    a.sha256 = hex_of(l.digest);
    a.known_size = l.size;
    a.headers = registry.auth_headers();
    a.check_hint = "the registry sent a blob that is not " + l.digest + "; pull again, or check the registry";
    ArtifactFetch f = store.fetch(a);
    if (f.downloaded) ++out.layers_downloaded;
    layers.push_back({f.path, l.digest});
    packed += l.size;
  }

  const std::string dir = state_dir + "/images/oci";
  const std::string staging = dir + "/tmp/" + hex_of(m.digest);
  const std::string partial = staging + ".ext4";
  std::error_code ec;
  fs::create_directories(dir + "/tmp", ec);
  if (ec) throw HostError(who + ": creating " + dir + "/tmp: " + ec.message());
  auto clean_up = [&] {
    std::error_code rm;
    fs::remove_all(staging, rm);
    fs::remove(partial, rm);
  };
  clean_up();  // a previous run's, cut short
  try {
    fs::create_directory(staging, ec);
    if (ec) throw HostError(who + ": creating " + staging + ": " + ec.message());
    ::chmod(staging.c_str(), 0755);
    // Without a size the unpacked content may be anything: cap it at what a
    // sane image is, 64x the compressed layers and at least 1 GiB.
    const uint64_t cap = req.size ? *req.size : std::max<uint64_t>(packed * 64, 1024 * kMiB);
    FlattenStats stats = flatten_layers(layers, staging, cap);
    out.content_bytes = stats.bytes;
    // Content plus 25% for ext4's own metadata and inodes, rounded up to a
    // MiB, with 16 MiB at least (a journal and tables need room too).
    uint64_t size = req.size ? *req.size : (stats.bytes + stats.bytes / 4 + 16 * kMiB + kMiB - 1) / kMiB * kMiB;
    ToolRun r = run_tool({find_mke2fs(), "-q", "-F", "-t", "ext4", "-d", staging, "-E", "root_owner=0:0", partial,
                          std::to_string(size / 1024) + "k"});
    if (r.exit_code != 0) {
      throw HostError(who + ": mke2fs could not make a " + std::to_string(size / kMiB) + " MiB ext4 image" +
                      (req.size ? " (spec.size may be too small for " + std::to_string(stats.bytes / kMiB) + " MiB of files)"
                                : "") +
                      ": " + r.output);
    }
    fs::remove_all(staging, ec);
    if (::chmod(partial.c_str(), 0444) != 0) throw HostError::from_errno("chmod " + partial, errno);
    if (::rename(partial.c_str(), out.path.c_str()) != 0) {
      throw HostError::from_errno("renaming " + partial + " to " + out.path, errno);
    }
    out.size = size;
  } catch (const HostError& e) {
    clean_up();
    const std::string what = e.what();
    if (what.rfind(req.label, 0) == 0) throw;
    throw HostError(who + ": " + what, e.code());
  } catch (...) {
    clean_up();
    throw;
  }
  return out;
}

}  // namespace banger
