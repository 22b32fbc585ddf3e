// A git repository as the source of manifests (`banger watch --git URL`):
// a bare clone in the state dir, fetched with libgit2 (no `git` on the
// host needed), and the tree of one commit written out as plain files for
// the watcher to load like any folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct git_repository;
struct git_remote;

namespace banger {

/// How to authenticate, the usual ways: an ssh key file for ssh URLs (the
/// host key is checked against ~/.ssh/known_hosts by libgit2), a token (or
/// password) for https. Empty: anonymous.
struct GitCredentials {
  std::string ssh_key;         ///< private key file
  std::string ssh_passphrase;  ///< of that key, if any
  std::string username;        ///< https; default: the URL's, else "x-access-token"
  std::string token;           ///< https password or token
};

struct GitCommit {
  std::string id;       ///< 40 hex digits
  std::string summary;  ///< first line of the message
  int64_t time = 0;     ///< committer time, unix seconds
};

/// STATE/git/<16 hex of sha256(url, ref)>: one cache per source.
std::string git_cache_dir(const std::string& state_dir, const std::string& url, const std::string& ref);
/// "main" -> "refs/heads/main"; a name already under refs/ is kept.
std::string git_full_ref(const std::string& ref);

class GitSource {
 public:
  /// Opens (or makes) the bare clone under `cache_dir`. Throws HostError.
  GitSource(std::string url, std::string ref, std::string cache_dir, GitCredentials creds);
  ~GitSource();
  GitSource(const GitSource&) = delete;
  GitSource& operator=(const GitSource&) = delete;

  /// Fetches `ref` from the URL, forced (a force-push or rewritten history
  /// replaces what was fetched before), and returns its commit. Throws
  /// HostError with libgit2's reason (unreachable, no such ref, auth).
  GitCommit fetch();
  /// Writes the tree of `commit` at `path` ("" or "." for all of it) into
  /// `out_dir` as plain files, replacing what was there (a new folder
  /// renamed into place). Symlinks and submodules are not written; their
  /// paths are returned. Throws HostError when `path` is not a folder in
  /// that commit.
  std::vector<std::string> write_tree(const std::string& commit, const std::string& path, const std::string& out_dir);

  /// The commit's signature (its gpgsig header: an SSH or OpenPGP block) and
  /// the bytes it signs; nullopt when the commit is not signed.
  std::optional<std::pair<std::string, std::string>> signature(const std::string& commit);

  /// A kill between write_tree's two renames leaves the last tree as
  /// OUT.old and no OUT: puts it back. True when it did.
  static bool recover_tree(const std::string& out_dir);

  const std::string& url() const { return url_; }
  const std::string& cache_dir() const { return cache_dir_; }
  const std::string& ref() const { return ref_; }

 private:
  GitCommit describe(const void* oid);
  std::string url_, ref_, cache_dir_;
  GitCredentials creds_;
  ::git_repository* repo_ = nullptr;
  // Made once: libgit2 1.5 leaks a regex match (~75 KB) in every
  // git_remote_create_* (its url.*.insteadOf lookup), which a fetch every
  // 30 s would turn into megabytes a day. One remote fetches any number of times.
  ::git_remote* remote_ = nullptr;
};

}  // namespace banger
