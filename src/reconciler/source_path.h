// Where a resource was declared, in the one form the store records it: an
// absolute path whose folder part has its symlinks resolved. `banger watch`
// prunes only what was applied from inside its DIR, so the record and the
// DIR must be spelled the same way, whatever the user typed (a relative
// path, `./x/../x`, a symlinked checkout).
#pragma once

#include <string>

namespace banger {

/// Absolute, lexically normal, with symlinks resolved in the folder part
/// (not in the file name itself: a symlinked manifest stays where it is
/// linked). Names that are not paths ("<stdin>", "") come back unchanged.
/// Reads the filesystem (symlinks); a path that does not exist is still
/// normalized as far as it does.
std::string normalize_source_path(const std::string& path);

/// A folder in the same form (the watcher's DIR): absolute, every symlink
/// resolved, no trailing '/'. Files read from it normalize to paths within it.
std::string normalize_dir_path(const std::string& dir);

/// True when `path` is `dir` or lies under it, comparing whole components:
/// /a/b is within /a and /a/b, not within /a/bc. Both should be normalized
/// (normalize_source_path); an empty `dir` contains nothing. Pure.
bool path_within(const std::string& path, const std::string& dir);

}  // namespace banger
