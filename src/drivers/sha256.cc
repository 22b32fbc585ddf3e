#include "drivers/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/host_error.h"
#include "common/unique_fd.h"
#include "drivers/crypto_lib.h"

namespace banger {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  const CryptoLib& lib = crypto_api();
  ctx_->md = lib.EVP_MD_CTX_new();
  if (!ctx_->md || lib.EVP_DigestInit_ex(ctx_->md, lib.EVP_sha256(), nullptr) != 1) {
    throw HostError("sha256: OpenSSL could not start a digest");
  }
}

Sha256::~Sha256() {
  if (ctx_ && ctx_->md) crypto_api().EVP_MD_CTX_free(ctx_->md);
}

void Sha256::update(const void* data, size_t n) { crypto_api().EVP_DigestUpdate(ctx_->md, data, n); }

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (crypto_api().EVP_DigestFinal_ex(ctx_->md, md, &len) != 1) {
    throw HostError("sha256: OpenSSL could not finish the digest");
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw HostError::from_errno("opening " + path + " to check its sha256", errno);
  Sha256 h;
  std::vector<unsigned char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw HostError::from_errno("reading " + path + " to check its sha256", errno);
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.hex();
}

}  // namespace banger
