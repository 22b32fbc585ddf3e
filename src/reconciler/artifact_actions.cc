// Kernel, initrd and Image files: a `url` goes through the content-addressed
// artifact store (download, verify, rename); a `path` is checked in place,
// its sha256 cached in the state DB by (size, mtime) so an unchanged file is
// hashed once, not on every apply (hashing a 1 GiB image takes seconds).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/host_error.h"
#include "drivers/disk.h"
#include "drivers/oci_pull.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/oci_resolve.h"

namespace banger {

namespace {

std::string short_hash(const std::string& sha256) { return "sha256:" + sha256.substr(0, 12); }

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The request for what the diff resolved: by digest, so that what is
// applied is what was planned even if the tag moves meanwhile.
OciPullRequest pinned_request(const std::string& label, const ArtifactSource& s) {
  OciPullRequest q = oci_request(label, s.oci);
  if (s.oci.digest.empty()) {
    throw HostError(label + ": spec.oci: " + s.oci.ref.str() + " was not resolved to a digest", ErrorCode::Invalid);
  }
  q.ref.digest = s.oci.digest;
  return q;
}

StepDone oci_summary(const std::string& field, bool cached, int downloaded, const std::string& digest, double secs) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1fs", secs);
  return {"oci.pull", field, cached ? "in the cache" : "pulled",
          {{"digest", short_hash(digest.substr(7))}, {"layers downloaded", std::to_string(downloaded)}, {"seconds", s}}};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string HostReconciler::oci_image_file(const std::string& label, const ArtifactSource& s, StepDone* summary) {
  const auto t0 = std::chrono::steady_clock::now();
  OciPulled p = pull_oci_image(artifacts_, opts_.state_dir, pinned_request(label, s));
  if (summary) *summary = oci_summary("spec", p.cached, p.layers_downloaded, p.manifest_digest, seconds_since(t0));
  return p.path;
}

std::pair<std::string, std::string> HostReconciler::oci_kernel_files(const std::string& label, const ArtifactSource& s,
                                                                     StepDone* summary) {
  const auto t0 = std::chrono::steady_clock::now();
  OciKernelFiles k = pull_oci_kernel(artifacts_, opts_.state_dir, pinned_request(label, s));
  if (summary) *summary = oci_summary("spec", k.cached, k.layers_downloaded, k.manifest_digest, seconds_since(t0));
  return {k.kernel, k.initrd};
}

std::string HostReconciler::resolve_artifact(const std::string& label, const std::string& field,
                                             const ArtifactSource& s, StepDone* summary) {
  if (s.oci.ref_text.set) {
    return label.rfind("Kernel/", 0) == 0 ? oci_kernel_files(label, s, summary).first
                                          : oci_image_file(label, s, summary);
  }
  const std::string& want = s.sha256.value;
  if (s.url.set) {
    auto known = locked([&] { return store_.artifact(want); });
    std::optional<uint64_t> known_size;
    if (known) known_size = static_cast<uint64_t>(known->size);
    std::string who = field == "spec" ? label : label + " initrd";
    ArtifactFetch f = artifacts_.fetch({who, s.url.value, want, known_size});
    if (!known || f.downloaded || known->size != static_cast<int64_t>(f.size)) {
      locked([&] {
        store_.put_artifact({want, s.url.value, static_cast<int64_t>(f.size), static_cast<int64_t>(std::time(nullptr))});
      });
    }
    if (summary) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1fs", f.download.seconds);
      *summary = {"artifact.fetch", field, f.downloaded ? "downloaded" : "in the store",
                  {{"sha256", short_hash(want)}, {"size", mib(f.size)}, {"seconds", secs}}};
    }
    return f.path;
  }

  const std::string& path = s.resolved_path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw HostError(label + ": " + field + ".path: " + path +
                    " is not a file (check spec.path; relative paths start at the manifest's folder)",
                    ErrorCode::NotFound);
  }
  if (want.empty()) {
    if (summary) *summary = {"artifact.check", field, "found", {}};
    return path;
  }
  auto check = locked([&] { return store_.artifact_check(path); });
  bool cached = check && check->size == st.st_size && check->mtime_ns == mtime_ns(st);
  std::string got = cached ? check->sha256 : sha256_file(path);
  if (!cached) {
    // Cache only what was hashed: a file written to while it was read has a
    // new mtime now, and the next run hashes it again.
    struct stat after;
    if (::stat(path.c_str(), &after) == 0 && after.st_size == st.st_size && mtime_ns(after) == mtime_ns(st)) {
      locked([&] {
        store_.put_artifact_check({path, st.st_size, mtime_ns(st), got, static_cast<int64_t>(std::time(nullptr))});
      });
    }
  }
  if (got != want) {
    throw HostError(label + ": " + field + ".sha256: sha256 mismatch for " + path + ": expected " + want +
                    ", got " + got + " (fix spec.sha256, or the file)",
                    ErrorCode::Invalid);
  }
  if (summary) *summary = {"artifact.check", field, cached ? "unchanged" : "verified", {}};
  return path;
}

std::string HostReconciler::artifact_file(const std::string& label, const std::string& field,
                                          const ArtifactSource& s) {
  // A path was checked by its resource's action; only a download or a pull
  // has a copy that may have gone missing since (removed by hand) and can be
  // fetched again (a pull finds its cache in one stat).
  if (!s.url.set && !s.oci.ref_text.set) return s.resolved_path;
  return resolve_artifact(label, field, s);
}

}  // namespace banger
