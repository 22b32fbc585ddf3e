#include "drivers/git_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/host_error.h"
#include "common/write_file.h"
#include "drivers/git_lib.h"
#include "drivers/sha256.h"

namespace fs = std::filesystem;

namespace banger {

namespace {

constexpr const char* kLocalRef = "refs/banger/source";

std::string last_error(const std::string& what) {
  const git_error* e = git_api().git_error_last();
  return what + ": " + (e && e->message ? e->message : "unknown libgit2 error");
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw HostError(last_error(what), rc == GIT_ENOTFOUND ? ErrorCode::NotFound : ErrorCode::Io);
}

// libgit2 objects, freed by their own functions.
struct CommitFree {
  void operator()(git_commit* c) const { if (c) git_api().git_commit_free(c); }
};
struct TreeFree {
  void operator()(git_tree* t) const { if (t) git_api().git_tree_free(t); }
};
struct EntryFree {
  void operator()(git_tree_entry* e) const { if (e) git_api().git_tree_entry_free(e); }
};
struct BlobFree {
  void operator()(git_blob* b) const { if (b) git_api().git_blob_free(b); }
};

// The credentials callback asks once per kind; a second ask for the same
// means the server refused them, and libgit2 would ask forever.
struct CredState {
  const GitCredentials* creds;
  int asked = 0;
};

int acquire(git_credential** out, const char* /*url*/, const char* user_from_url, unsigned int allowed, void* payload) {
  auto* s = static_cast<CredState*>(payload);
  if (++s->asked > 1) return GIT_EAUTH;
  const GitCredentials& c = *s->creds;
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !c.ssh_key.empty()) {
    return git_api().git_credential_ssh_key_new(out, user_from_url && *user_from_url ? user_from_url : "git", nullptr,
                                                c.ssh_key.c_str(), c.ssh_passphrase.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !c.token.empty()) {
    const std::string user = !c.username.empty()                    ? c.username
                             : user_from_url && *user_from_url ? user_from_url
                                                                    : "x-access-token";
    return git_api().git_credential_userpass_plaintext_new(out, user.c_str(), c.token.c_str());
  }
  return GIT_PASSTHROUGH;  // none to give: libgit2 reports the server's refusal
}

// A name a tree may hold that is safe to write under out_dir.
bool plain_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n != ".git" && n.find('/') == std::string::npos;
}

git_oid oid_of(const std::string& commit) {
  git_oid oid;
  if (git_api().git_oid_fromstr(&oid, commit.c_str()) < 0)
    throw HostError("not a commit id: " + commit, ErrorCode::Invalid);
  return oid;
}

struct WalkState {
  git_repository* repo;
  std::string out;
  std::vector<std::string> skipped;
  std::string error;
};

int write_entry(const char* root, const git_tree_entry* entry, void* payload) {
  auto* w = static_cast<WalkState*>(payload);
  const GitLib& g = git_api();
  const std::string name = g.git_tree_entry_name(entry);
  const std::string rel = std::string(root) + name;
  if (!plain_name(name)) {
    w->skipped.push_back(rel);
    return 1;  // not written, nor anything below it
  }
  const std::string path = w->out + "/" + rel;
  switch (g.git_tree_entry_type(entry)) {
    case GIT_OBJECT_TREE:
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        w->error = "creating " + path + ": " + std::strerror(errno);
        return -1;
      }
      return 0;
    case GIT_OBJECT_BLOB: {
      if (g.git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
        // A link could name any file on the host, and the watcher runs as root.
        w->skipped.push_back(rel);
        return 0;
      }
      git_blob* raw = nullptr;
      if (g.git_blob_lookup(&raw, w->repo, g.git_tree_entry_id(entry)) < 0) {
        w->error = last_error("reading " + rel);
        return -1;
      }
      std::unique_ptr<git_blob, BlobFree> blob(raw);
      std::string text(static_cast<const char*>(g.git_blob_rawcontent(blob.get())),
                       static_cast<size_t>(g.git_blob_rawsize(blob.get())));
      try {
        write_file_atomically(path, text);
      } catch (const HostError& e) {
        w->error = e.what();
        return -1;
      }
      return 0;
    }
    default:  // a submodule (a commit of another repository)
      w->skipped.push_back(rel);
      return 0;
  }
}

}  // namespace

std::string git_full_ref(const std::string& ref) { return ref.rfind("refs/", 0) == 0 ? ref : "refs/heads/" + ref; }

std::string git_cache_dir(const std::string& state_dir, const std::string& url, const std::string& ref) {
  return state_dir + "/git/" + sha256_hex(url + "\n" + git_full_ref(ref)).substr(0, 16);
}

GitSource::GitSource(std::string url, std::string ref, std::string cache_dir, GitCredentials creds)
    : url_(std::move(url)), ref_(std::move(ref)), cache_dir_(std::move(cache_dir)), creds_(std::move(creds)) {
  const GitLib& g = git_api();
  const std::string repo = cache_dir_ + "/repo.git";
  std::error_code ec;
  fs::create_directories(cache_dir_, ec);
  if (ec) throw HostError("creating " + cache_dir_ + ": " + ec.message());
  if (fs::exists(repo + "/HEAD", ec)) {
    check(g.git_repository_open_bare(&repo_, repo.c_str()), "opening " + repo);
  } else {
    check(g.git_repository_init(&repo_, repo.c_str(), /*is_bare=*/1), "creating " + repo);
  }
  if (g.git_remote_create_anonymous(&remote_, repo_, url_.c_str()) < 0) {
    std::string why = last_error("git remote " + url_);
    g.git_repository_free(repo_);
    throw HostError(why, ErrorCode::Invalid);
  }
}

GitSource::~GitSource() {
  if (remote_) git_api().git_remote_free(remote_);
  if (repo_) git_api().git_repository_free(repo_);
}

GitCommit GitSource::describe(const void* oid_ptr) {
  const GitLib& g = git_api();
  const auto* oid = static_cast<const git_oid*>(oid_ptr);
  git_commit* raw = nullptr;
  check(g.git_commit_lookup(&raw, repo_, oid), std::string("reading commit ") + g.git_oid_tostr_s(oid));
  std::unique_ptr<git_commit, CommitFree> c(raw);
  GitCommit out;
  out.id = g.git_oid_tostr_s(oid);
  const char* summary = g.git_commit_summary(c.get());
  out.summary = summary ? summary : "";
  out.time = static_cast<int64_t>(g.git_commit_time(c.get()));
  return out;
}

GitCommit GitSource::fetch() {
  const GitLib& g = git_api();
  git_fetch_options opts;
  g.git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
  CredState cred{&creds_};
  opts.callbacks.credentials = acquire;
  opts.callbacks.payload = &cred;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  opts.update_fetchhead = 0;
  // Forced: the local ref follows the remote's wherever it went.
  std::string spec = "+" + git_full_ref(ref_) + ":" + kLocalRef;
  char* specs[] = {spec.data()};
  git_strarray refspecs{specs, 1};
  check(g.git_remote_fetch(remote_, &refspecs, &opts, "banger watch fetch"),
        "fetching " + git_full_ref(ref_) + " from " + url_);
  git_oid oid;
  if (g.git_reference_name_to_id(&oid, repo_, kLocalRef) < 0)
    throw HostError(url_ + " has no " + git_full_ref(ref_), ErrorCode::NotFound);
  return describe(&oid);
}

std::optional<std::pair<std::string, std::string>> GitSource::signature(const std::string& commit) {
  const GitLib& g = git_api();
  git_oid oid = oid_of(commit);
  git_buf sig{}, data{};
  int rc = g.git_commit_extract_signature(&sig, &data, repo_, &oid, nullptr);
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  if (rc < 0) throw HostError(last_error("reading the signature of " + commit.substr(0, 12)));
  std::pair<std::string, std::string> out{std::string(sig.ptr, sig.size), std::string(data.ptr, data.size)};
  g.git_buf_dispose(&sig);
  g.git_buf_dispose(&data);
  return out;
}

bool GitSource::recover_tree(const std::string& out_dir) {
  std::error_code ec;
  const std::string old = out_dir + ".old";
  if (fs::exists(out_dir, ec) || !fs::is_directory(old, ec)) return false;
  return ::rename(old.c_str(), out_dir.c_str()) == 0;
}

std::vector<std::string> GitSource::write_tree(const std::string& commit, const std::string& path,
                                               const std::string& out_dir) {
  const GitLib& g = git_api();
  const git_oid oid = oid_of(commit);
  git_commit* rc = nullptr;
  check(g.git_commit_lookup(&rc, repo_, &oid), "reading commit " + commit);
  std::unique_ptr<git_commit, CommitFree> c(rc);
  git_tree* rt = nullptr;
  check(g.git_commit_tree(&rt, c.get()), "reading the tree of " + commit);
  std::unique_ptr<git_tree, TreeFree> tree(rt);
  // "fleet/", "./fleet" and "fleet" name one folder; "", "." and "./" the root.
  std::string clean = fs::path(path).lexically_normal().string();
  while (!clean.empty() && clean.back() == '/') clean.pop_back();
  if (!clean.empty() && clean != ".") {
    git_tree_entry* re = nullptr;
    if (g.git_tree_entry_bypath(&re, tree.get(), clean.c_str()) < 0)
      throw HostError("commit " + commit.substr(0, 12) + " has no folder " + clean, ErrorCode::NotFound);
    std::unique_ptr<git_tree_entry, EntryFree> e(re);
    if (g.git_tree_entry_type(e.get()) != GIT_OBJECT_TREE)
      throw HostError("in commit " + commit.substr(0, 12) + ", " + clean + " is not a folder", ErrorCode::Invalid);
    git_tree* st = nullptr;
    check(g.git_tree_lookup(&st, repo_, g.git_tree_entry_id(e.get())), "reading " + clean);
    tree.reset(st);
  }
  // Written beside, then renamed into place: the watcher never loads half
  // of one commit and half of another, and a failed write keeps the old.
  const std::string fresh = out_dir + ".new", old = out_dir + ".old";
  std::error_code ec;
  fs::remove_all(fresh, ec);
  fs::remove_all(old, ec);
  if (::mkdir(fresh.c_str(), 0755) != 0) throw HostError::from_errno("creating " + fresh, errno);
  WalkState w{repo_, fresh, {}, {}};
  if (g.git_tree_walk(tree.get(), GIT_TREEWALK_PRE, write_entry, &w) < 0 || !w.error.empty()) {
    fs::remove_all(fresh, ec);
    throw HostError(w.error.empty() ? last_error("writing commit " + commit.substr(0, 12)) : w.error);
  }
  if (fs::exists(out_dir, ec) && ::rename(out_dir.c_str(), old.c_str()) != 0)
    throw HostError::from_errno("replacing " + out_dir, errno);
  if (::rename(fresh.c_str(), out_dir.c_str()) != 0) throw HostError::from_errno("replacing " + out_dir, errno);
  fs::remove_all(old, ec);
  return w.skipped;
}

}  // namespace banger
