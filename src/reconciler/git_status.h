// The commit `banger watch --git` last converged the host to, kept in
// STATE/git/status.json (0644: readers without root see it too) for `get`,
// `state export` and anyone who asks which commit a host runs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace banger {

struct GitStatus {
  std::string url, ref, path;
  std::string commit;
  std::string summary;
  int64_t converged_at = 0;  ///< unix seconds
};

/// Throws HostError when it cannot be written.
void write_git_status(const std::string& state_dir, const GitStatus& s);
/// nullopt when there is none (never watched a git source) or it is unreadable.
std::optional<GitStatus> read_git_status(const std::string& state_dir);
/// {url, ref, path, commit, summary, convergedAt}: the file's own form, for
/// get -o json and state export's metadata.source.
nlohmann::json git_status_json(const GitStatus& s);
/// "git URL REF [path P]: commit ABCDEF123456 "summary", converged 2m ago" for get's header.
std::string git_status_line(const GitStatus& s, int64_t now);

}  // namespace banger
