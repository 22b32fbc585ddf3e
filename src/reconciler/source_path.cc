#include "reconciler/source_path.h"

#include <filesystem>

namespace banger {

namespace fs = std::filesystem;

std::string normalize_source_path(const std::string& path) {
  if (path.empty() || path.front() == '<') return path;  // "<stdin>"
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(path), ec);
  if (ec) return path;
  abs = abs.lexically_normal();
  if (!abs.has_filename()) return normalize_dir_path(path);
  fs::path dir = fs::weakly_canonical(abs.parent_path(), ec);
  return ec ? abs.string() : (dir / abs.filename()).string();
}

std::string normalize_dir_path(const std::string& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(dir), ec);
  if (ec) return dir;
  fs::path canon = fs::weakly_canonical(abs, ec);
  std::string s = (ec ? abs.lexically_normal() : canon).string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool path_within(const std::string& path, const std::string& dir) {
  if (dir.empty() || path.empty()) return false;
  fs::path p(path), d(dir);
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di) {
    if (di->empty()) continue;  // a trailing "/" gives an empty last component
    if (pi == p.end() || *pi != *di) return false;
    ++pi;
  }
  return true;
}

}  // namespace banger
