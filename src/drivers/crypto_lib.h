// OpenSSL's libcrypto (for SHA-256), opened on first use (common/lazy_lib.h
// says why). Members carry the library's own names and types.
#pragma once

#include <openssl/evp.h>

namespace banger {

#define BANGER_CRYPTO_SYMBOLS(X)                                                              \
  X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)               \
  X(EVP_DigestFinal_ex) X(EVP_sha256)

struct CryptoLib {
#define BANGER_MEMBER(name) decltype(&::name) name;
  BANGER_CRYPTO_SYMBOLS(BANGER_MEMBER)
#undef BANGER_MEMBER
};

/// Opens libcrypto once; throws HostError naming the package when it is not
/// installed.
const CryptoLib& crypto_api();

}  // namespace banger
