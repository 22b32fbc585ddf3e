#include "drivers/ssh_host_key.h"

#include <string.h>

#include <cstdint>
#include <memory>

#include "common/host_error.h"
#include "drivers/crypto_lib.h"
#include "resources/base64.h"

namespace banger {

namespace {

constexpr std::string_view kType = "ssh-ed25519";
constexpr size_t kKeyBytes = 32;

void wipe(std::string& s) {
  explicit_bzero(s.data(), s.size());
  s.clear();
}

// Wipes on every exit, exceptions included.
struct Wiped {
  std::string& s;
  ~Wiped() { wipe(s); }
};

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += char(v >> shift);
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, uint32_t(s.size()));
  out += s;
}

std::string public_blob(std::string_view pub) {
  std::string blob;
  put_string(blob, kType);
  put_string(blob, pub);
  return blob;
}

struct Ed25519Raw {
  unsigned char seed[kKeyBytes];
  unsigned char pub[kKeyBytes];
  ~Ed25519Raw() { explicit_bzero(seed, sizeof seed); }
};

void generate(const CryptoLib& c, Ed25519Raw& raw) {
  auto fail = [] {
    return HostError("libcrypto could not generate an ed25519 key (an OpenSSL without ed25519?)",
                     ErrorCode::Invalid);
  };
  auto free_ctx = [&c](EVP_PKEY_CTX* p) { c.EVP_PKEY_CTX_free(p); };
  std::unique_ptr<EVP_PKEY_CTX, decltype(free_ctx)> ctx(c.EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                        free_ctx);
  if (!ctx || c.EVP_PKEY_keygen_init(ctx.get()) != 1) throw fail();
  EVP_PKEY* made = nullptr;
  if (c.EVP_PKEY_keygen(ctx.get(), &made) != 1) throw fail();
  // EVP_PKEY_free cleanses the key material it holds.
  auto free_key = [&c](EVP_PKEY* p) { c.EVP_PKEY_free(p); };
  std::unique_ptr<EVP_PKEY, decltype(free_key)> key(made, free_key);
  size_t seed_len = kKeyBytes, pub_len = kKeyBytes;
  if (c.EVP_PKEY_get_raw_private_key(key.get(), raw.seed, &seed_len) != 1 ||
      c.EVP_PKEY_get_raw_public_key(key.get(), raw.pub, &pub_len) != 1 || seed_len != kKeyBytes ||
      pub_len != kKeyBytes) {
    throw fail();
  }
}

// PROTOCOL.key in OpenSSH: unencrypted, one key, the layout ssh-keygen writes.
std::string openssh_file(const CryptoLib& c, const Ed25519Raw& raw, std::string_view comment) {
  std::string_view seed(reinterpret_cast<const char*>(raw.seed), kKeyBytes);
  std::string_view pub(reinterpret_cast<const char*>(raw.pub), kKeyBytes);
  unsigned char check[4];
  // Equal twice: a decryption with a wrong passphrase shows as a mismatch.
  if (c.RAND_bytes(check, sizeof check) != 1) {
    throw HostError("libcrypto's random generator failed", ErrorCode::Io);
  }
  uint32_t checkint = uint32_t(check[0]) << 24 | uint32_t(check[1]) << 16 | uint32_t(check[2]) << 8 | check[3];

  // Sized up front so that no reallocation leaves a copy of the secret behind.
  std::string secret;
  secret.reserve(256 + comment.size());
  Wiped wipe_secret{secret};
  put_u32(secret, checkint);
  put_u32(secret, checkint);
  put_string(secret, kType);
  put_string(secret, pub);
  put_u32(secret, 2 * kKeyBytes);  // OpenSSH keeps seed || public as "the private key"
  secret += seed;
  secret += pub;
  put_string(secret, comment);
  for (char pad = 1; secret.size() % 8 != 0; ++pad) secret += pad;

  std::string file;
  file.reserve(512 + 2 * comment.size());
  Wiped wipe_file{file};
  file += "openssh-key-v1";
  file += '\0';
  put_string(file, "none");  // cipher
  put_string(file, "none");  // kdf
  put_string(file, "");      // kdf options
  put_u32(file, 1);
  put_string(file, public_blob(pub));
  put_string(file, secret);

  std::string encoded = base64_encode(file);
  Wiped wipe_encoded{encoded};
  std::string text;
  text.reserve(encoded.size() + encoded.size() / 70 + 80);
  text += "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (size_t i = 0; i < encoded.size(); i += 70) {
    text.append(encoded, i, 70);
    text += '\n';
  }
  text += "-----END OPENSSH PRIVATE KEY-----\n";
  return text;
}

std::string dropbear_file(const Ed25519Raw& raw) {
  std::string out;
  out.reserve(4 + kType.size() + 4 + 2 * kKeyBytes);
  put_string(out, kType);
  put_u32(out, 2 * kKeyBytes);
  out.append(reinterpret_cast<const char*>(raw.seed), kKeyBytes);
  out.append(reinterpret_cast<const char*>(raw.pub), kKeyBytes);
  return out;
}

}  // namespace

SshHostKey::~SshHostKey() {
  wipe(openssh_private);
  wipe(dropbear_private);
}

SshHostKey generate_ssh_host_key(std::string_view comment) {
  if (comment.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    throw HostError("an SSH key comment must be one line of text", ErrorCode::Invalid);
  }
  const CryptoLib& c = crypto_api();
  Ed25519Raw raw;
  generate(c, raw);
  SshHostKey key;
  key.public_line = std::string(kType) + " " +
                    base64_encode(public_blob({reinterpret_cast<const char*>(raw.pub), kKeyBytes}));
  if (!comment.empty()) key.public_line += " " + std::string(comment);
  key.openssh_private = openssh_file(c, raw, comment);
  key.dropbear_private = dropbear_file(raw);
  return key;
}

std::string known_hosts_line(std::string_view alias, const SshHostKey& key) {
  // ',' separates names, '*' '?' '!' make patterns, and a leading '|' or
  // '@' marks a hashed name or a @cert-authority/@revoked line.
  bool ok = !alias.empty() && alias[0] != '|' && alias[0] != '@' && alias[0] != '#';
  for (char c : alias) {
    if (c <= ' ' || c > '~' || c == ',' || c == '*' || c == '?' || c == '!') ok = false;
  }
  if (!ok) {
    throw HostError("\"" + std::string(alias) + "\" cannot be a known_hosts host name",
                    ErrorCode::Invalid);
  }
  // The comment names the key's origin, not the host: known_hosts lines drop it.
  std::string_view pub = key.public_line;
  size_t end = pub.find(' ', kType.size() + 1);
  return std::string(alias) + " " + std::string(pub.substr(0, end));
}

}  // namespace banger
