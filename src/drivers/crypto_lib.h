// OpenSSL's libcrypto (for SHA-256), opened on first use (common/lazy_lib.h
// says why). Members carry the library's own names and types.
#pragma once

#include <openssl/evp.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_CRYPTO_SYMBOLS(X)                                                              \
  X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)               \
  X(EVP_DigestFinal_ex) X(EVP_sha256)

struct CryptoLib {
  BANGER_LAZY_MEMBERS(BANGER_CRYPTO_SYMBOLS)
};

/// Opens libcrypto once; throws HostError naming the package when it is not
/// installed.
const CryptoLib& crypto_api();

}  // namespace banger
