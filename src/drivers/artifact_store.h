// Kernels, initrds and images downloaded by URL, kept by content:
//   STATE/artifacts/sha256/<hex>     verified, read only (0444), named by its hash
//   STATE/artifacts/tmp/<hex>.part   a download in progress (or cut short)
// A download is written to its .part file, hashed, and renamed into sha256/
// only when the hash is the one the manifest names, so nothing unverified is
// ever used. The .part file survives a network failure so the next attempt
// (or the next apply) resumes it; a wrong hash or a write error deletes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/download.h"

namespace banger {

struct ArtifactRequest {
  std::string label;   ///< "Image/busybox-web", for messages and progress
  std::string url;
  std::string sha256;  ///< lowercase hex, 64 digits
  /// Size recorded when it was stored; a stored file of another size was cut
  /// short (or changed) and is fetched again. nullopt: nothing recorded, so
  /// a file found in the store is hashed once before it is trusted.
  std::optional<uint64_t> known_size;
  /// Sent with the request (a registry's "Authorization: Bearer ...").
  std::vector<std::string> headers;
  /// What a refusal or a mismatch tells the user to check; "" = the
  /// manifest's spec.url and spec.sha256.
  std::string check_hint;
};

struct ArtifactFetch {
  std::string path;         ///< STATE/artifacts/sha256/<hex>
  uint64_t size = 0;
  bool downloaded = false;  ///< false: it was in the store already
  DownloadResult download;  ///< when downloaded
};

struct StoredArtifact {
  std::string sha256;
  std::string path;
  uint64_t size = 0;
};

class ArtifactStore {
 public:
  ArtifactStore(std::string state_dir, DownloadOptions opts);

  std::string path_for(const std::string& sha256) const;
  std::string partial_path_for(const std::string& sha256) const;

  /// The verified file for req.sha256: from the store, else downloaded and
  /// verified. Thread-safe: requests for the same hash are served one at a
  /// time, so two resources naming the same content share one download (the
  /// second finds it in the store). Throws HostError naming req.label; on a
  /// hash mismatch the message has the URL, the expected and the actual hash,
  /// and nothing is kept.
  ArtifactFetch fetch(const ArtifactRequest& req);

  /// Verified files in sha256/ (names that are not 64 hex digits are skipped).
  std::vector<StoredArtifact> list() const;
  /// .part files in tmp/.
  std::vector<std::string> partials() const;
  /// Deletes a stored file or a .part file; absent is success.
  void remove_file(const std::string& path);

 private:
  std::mutex& lock_for(const std::string& sha256);
  ArtifactFetch download(const ArtifactRequest& req);
  ArtifactFetch download_verified(const ArtifactRequest& req, const std::string& part,
                                  const DownloadOptions& opts);

  std::string root_;  ///< STATE/artifacts
  DownloadOptions opts_;
  std::mutex locks_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> locks_;
};

/// true when s is 64 lowercase hex digits.
bool is_sha256_hex(const std::string& s);

}  // namespace banger
