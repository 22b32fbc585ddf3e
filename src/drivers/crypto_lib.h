// OpenSSL's libcrypto (SHA-256, ed25519 host keys), opened on first use
// (common/lazy_lib.h says why). Members carry the library's own names and types.
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_CRYPTO_SYMBOLS(X)                                                              \
  X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)               \
  X(EVP_DigestFinal_ex) X(EVP_sha256) X(EVP_PKEY_CTX_new_id) X(EVP_PKEY_CTX_free)             \
  X(EVP_PKEY_keygen_init) X(EVP_PKEY_keygen) X(EVP_PKEY_free)                                 \
  X(EVP_PKEY_get_raw_private_key) X(EVP_PKEY_get_raw_public_key) X(RAND_bytes)

struct CryptoLib {
  BANGER_LAZY_MEMBERS(BANGER_CRYPTO_SYMBOLS)
};

/// Opens libcrypto once; throws HostError naming the package when it is not
/// installed.
const CryptoLib& crypto_api();

}  // namespace banger
