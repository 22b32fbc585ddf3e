#include "drivers/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/disk.h"

namespace fs = std::filesystem;

namespace banger {
namespace {

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    throw HostError::from_errno("creating " + path, errno);
}

std::optional<uint64_t> regular_file_size(const std::string& path, const std::string& label) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) throw HostError(label + ": " + path + " is not a regular file; remove it");
  return static_cast<uint64_t>(st.st_size);
}

// The data must be on disk before the name says "verified": after a power
// cut, a renamed file whose blocks never made it would pass the size check.
void sync_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fdatasync(fd.get()) != 0) throw HostError::from_errno("syncing " + path, errno);
}

}  // namespace

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

ArtifactStore::ArtifactStore(std::string state_dir, DownloadOptions opts)
    : root_(std::move(state_dir) + "/artifacts"), opts_(std::move(opts)) {}

std::string ArtifactStore::path_for(const std::string& sha256) const { return root_ + "/sha256/" + sha256; }

std::string ArtifactStore::partial_path_for(const std::string& sha256) const {
  return root_ + "/tmp/" + sha256 + ".part";
}

std::mutex& ArtifactStore::lock_for(const std::string& sha256) {
  std::lock_guard lock(locks_mu_);
  auto& m = locks_[sha256];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

ArtifactFetch ArtifactStore::fetch(const ArtifactRequest& req) {
  if (!is_sha256_hex(req.sha256))
    throw HostError(req.label + ": spec.sha256 \"" + req.sha256 + "\" is not 64 lowercase hex digits");
  // A second resource with the same hash waits here, then finds the file.
  std::lock_guard lock(lock_for(req.sha256));
  const std::string path = path_for(req.sha256);
  if (auto size = regular_file_size(path, req.label)) {
    // The name is the hash and it was checked before the rename; a size other
    // than the recorded one means the file was cut short or changed since.
    bool good = req.known_size ? *req.known_size == *size : sha256_file(path) == req.sha256;
    if (good) return {path, *size, false, {}};
    remove_file(path);
  }
  return download(req);
}

ArtifactFetch ArtifactStore::download(const ArtifactRequest& req) {
  make_dir(root_);
  make_dir(root_ + "/sha256");
  make_dir(root_ + "/tmp");
  const std::string part = partial_path_for(req.sha256);
  // The end of a transfer is reported once the bytes are verified (with the
  // hash), or as failed: never "finished" for a file that is then thrown away.
  DownloadOptions opts = opts_;
  opts.headers = req.headers;
  if (!req.check_hint.empty()) opts.check_hint = req.check_hint;
  DownloadProgress last;
  opts.progress = [&](const DownloadProgress& p) {
    last = p;
    if (opts_.progress && !p.finished) opts_.progress(p);
  };
  auto report_end = [&](bool ok) {
    if (!opts_.progress) return;
    last.label = req.label;
    last.finished = ok;
    last.failed = !ok;
    last.sha256 = ok ? req.sha256 : "";
    opts_.progress(last);
  };
  try {
    ArtifactFetch f = download_verified(req, part, opts);
    report_end(true);
    return f;
  } catch (...) {
    report_end(false);
    throw;
  }
}

ArtifactFetch ArtifactStore::download_verified(const ArtifactRequest& req, const std::string& part,
                                               const DownloadOptions& opts) {
  auto attempt = [&] {
    try {
      return download_to_file(req.label, req.url, part, opts);
    } catch (const DownloadWriteError&) {
      remove_file(part);  // a disk that is full or failing: nothing half-made stays
      throw;
    } catch (...) {
      // Bytes from a network failure are kept for the next apply to resume;
      // an empty file (404, refused connection) says nothing and goes.
      auto size = regular_file_size(part, req.label);
      if (size && *size == 0) remove_file(part);
      throw;
    }
  };
  DownloadResult r = attempt();
  std::string got = sha256_file(part);
  if (got != req.sha256 && r.resumed_from > 0) {
    // The bytes kept from an earlier run may be what is wrong (the file
    // changed on the server since): one fresh download before giving up.
    remove_file(part);
    r = attempt();
    got = sha256_file(part);
  }
  if (got != req.sha256) {
    remove_file(part);
    throw HostError(req.label + ": sha256 mismatch for " + req.url + ": expected " + req.sha256 +
                    ", got " + got + " (" + std::to_string(r.bytes) +
                    " bytes downloaded and deleted; " +
                    (req.check_hint.empty() ? std::string("check spec.sha256 and spec.url") : req.check_hint) + ")");
  }
  const std::string path = path_for(req.sha256);
  try {
    sync_file(part);
    if (::chmod(part.c_str(), 0444) != 0) throw HostError::from_errno("chmod " + part, errno);
    if (::rename(part.c_str(), path.c_str()) != 0)
      throw HostError::from_errno("renaming " + part + " to " + path, errno);
  } catch (...) {
    remove_file(part);
    throw;
  }
  return {path, r.bytes, true, r};
}

std::vector<StoredArtifact> ArtifactStore::list() const {
  std::vector<StoredArtifact> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ + "/sha256", ec)) {
    std::string name = e.path().filename().string();
    if (!is_sha256_hex(name)) continue;
    std::error_code sec;
    uint64_t size = e.is_regular_file(sec) ? e.file_size(sec) : 0;
    out.push_back({name, e.path().string(), sec ? 0 : size});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.sha256 < b.sha256; });
  return out;
}

std::vector<std::string> ArtifactStore::partials() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ + "/tmp", ec)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

void ArtifactStore::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw HostError::from_errno("removing " + path, errno);
}

}  // namespace banger
