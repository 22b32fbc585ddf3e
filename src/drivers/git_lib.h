// libgit2, opened on first use (common/lazy_lib.h says why): only
// `banger watch --git` fetches, and libgit2 brings libssh2, mbedtls and
// http-parser along, which every other command would pay for at start.
#pragma once

#include <git2.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_GIT_SYMBOLS(X)                                                                               \
  X(git_libgit2_init) X(git_repository_init) X(git_repository_open_bare) X(git_repository_free)            \
  X(git_remote_create_anonymous) X(git_remote_fetch) X(git_remote_free) X(git_fetch_options_init)          \
  X(git_reference_name_to_id) X(git_commit_lookup) X(git_commit_tree) X(git_commit_free)                   \
  X(git_commit_summary) X(git_commit_time) X(git_tree_entry_bypath) X(git_tree_entry_type)                 \
  X(git_tree_entry_id) X(git_tree_entry_free) X(git_tree_entry_name) X(git_tree_entry_filemode)            \
  X(git_tree_lookup) X(git_tree_free) X(git_tree_walk) X(git_blob_lookup) X(git_blob_rawcontent)           \
  X(git_blob_rawsize) X(git_blob_free) X(git_oid_tostr_s) X(git_oid_fromstr) X(git_error_last)             \
  X(git_credential_ssh_key_new) X(git_credential_userpass_plaintext_new) X(git_commit_extract_signature)     \
  X(git_buf_dispose)

struct GitLib {
  BANGER_LAZY_MEMBERS(BANGER_GIT_SYMBOLS)
};

/// Opens libgit2 once (and runs git_libgit2_init); throws HostError naming
/// the package when it is not installed.
const GitLib& git_api();

}  // namespace banger
