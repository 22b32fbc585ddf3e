#include "reconciler/git_status.h"

#include <nlohmann/json.hpp>

#include "common/read_file.h"
#include "common/write_file.h"

namespace banger {

namespace {
std::string path_of(const std::string& state_dir) { return state_dir + "/git/status.json"; }
}  // namespace

nlohmann::json git_status_json(const GitStatus& s) {
  return {{"url", s.url},       {"ref", s.ref},         {"path", s.path},
          {"commit", s.commit}, {"summary", s.summary}, {"convergedAt", s.converged_at}};
}

void write_git_status(const std::string& state_dir, const GitStatus& s) {
  write_file_atomically(path_of(state_dir), git_status_json(s).dump(2) + "\n");
}

std::optional<GitStatus> read_git_status(const std::string& state_dir) {
  auto text = read_small_file(path_of(state_dir));
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    GitStatus s;
    s.url = j.at("url").get<std::string>();
    s.ref = j.at("ref").get<std::string>();
    s.path = j.value("path", ".");
    s.commit = j.at("commit").get<std::string>();
    s.summary = j.value("summary", "");
    s.converged_at = j.value("convergedAt", int64_t{0});
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string git_status_line(const GitStatus& s, int64_t now) {
  int64_t ago = std::max<int64_t>(0, now - s.converged_at);
  std::string age = ago < 120 ? std::to_string(ago) + "s" : ago < 7200 ? std::to_string(ago / 60) + "m"
                                                                       : std::to_string(ago / 3600) + "h";
  return "git " + s.url + " " + s.ref + (s.path.empty() || s.path == "." ? "" : " path " + s.path) + ": commit " +
         s.commit.substr(0, 12) + (s.summary.empty() ? "" : " \"" + s.summary + "\"") + ", converged " + age + " ago";
}

}  // namespace banger
