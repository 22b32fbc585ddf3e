#include "drivers/git_lib.h"

namespace banger {

namespace {
BANGER_LAZY_TABLE(GitLib, git_table, BANGER_GIT_SYMBOLS, "libgit2.so.1.5", "libgit2-1.5")
}  // namespace

const GitLib& git_api() {
  static const GitLib& lib = [] () -> const GitLib& {
    const GitLib& l = git_table();
    l.git_libgit2_init();  // once per process; libgit2 keeps its own count
    return l;
  }();
  return lib;
}

}  // namespace banger
