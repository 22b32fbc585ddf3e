// libnftables, opened on first use (common/lazy_lib.h says why). Members
// carry the library's own names and types.
#pragma once

#include <nftables/libnftables.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_NFT_SYMBOLS(X)                                                                 \
  X(nft_ctx_new) X(nft_ctx_free) X(nft_ctx_buffer_output) X(nft_ctx_buffer_error)             \
  X(nft_ctx_output_set_flags) X(nft_run_cmd_from_buffer) X(nft_ctx_get_output_buffer)         \
  X(nft_ctx_get_error_buffer)

struct NftLib {
  BANGER_LAZY_MEMBERS(BANGER_NFT_SYMBOLS)
};

/// Opens libnftables once; throws HostError naming the package when it is
/// not installed.
const NftLib& nft_api();

}  // namespace banger
