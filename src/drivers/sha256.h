// SHA-256 through OpenSSL's libcrypto (opened on first use): of bytes in
// memory, of a stream fed piece by piece, or of a file.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace banger {

class Sha256 {
 public:
  Sha256();  ///< throws HostError when libcrypto cannot start a digest
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  /// 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);
/// Lowercase hex SHA-256 of a file's content; throws HostError when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace banger
