#include "resources/ssh_public_key.h"

#include <cstdint>

#include "resources/base64.h"

namespace banger {

namespace {

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// Splits off the first whitespace-separated token; `s` keeps the rest, trimmed.
std::string_view next_token(std::string_view& s) {
  size_t end = s.find_first_of(kSpace);
  std::string_view tok = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return tok;
}

// The SSH wire format (RFC 4251 section 5) of the key data.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : rest_(data) {}
  std::optional<std::string_view> string() {
    if (rest_.size() < 4) return std::nullopt;
    uint32_t n = uint32_t(uint8_t(rest_[0])) << 24 | uint32_t(uint8_t(rest_[1])) << 16 |
                 uint32_t(uint8_t(rest_[2])) << 8 | uint8_t(rest_[3]);
    if (n > rest_.size() - 4) return std::nullopt;
    std::string_view s = rest_.substr(4, n);
    rest_.remove_prefix(4 + n);
    return s;
  }
  size_t left() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

struct Curve {
  std::string_view name;
  size_t coordinate_bytes;
};

// RFC 5656: the curve is named twice (in the type and in the data) and the
// point is uncompressed: 0x04, X, Y.
std::string check_ecdsa(WireReader& r, Curve curve) {
  auto name = r.string();
  auto point = r.string();
  if (!name || !point) return "key data is truncated";
  if (*name != curve.name) return "ECDSA key data names curve \"" + std::string(*name) +
                                  "\", not " + std::string(curve.name);
  if (point->size() != 1 + 2 * curve.coordinate_bytes || (*point)[0] != 4) {
    return "ECDSA key data does not hold an uncompressed " + std::string(curve.name) + " point";
  }
  return "";
}

std::string check_ed25519(WireReader& r) {
  auto key = r.string();
  if (!key) return "key data is truncated";
  if (key->size() != 32) return "ed25519 key is " + std::to_string(key->size()) + " bytes, not 32";
  return "";
}

// Leading zero bytes are allowed (OpenSSH strips them); a set top bit would
// make the mpint negative.
std::optional<size_t> positive_mpint_bits(std::string_view m) {
  if (m.empty() || (uint8_t(m[0]) & 0x80)) return std::nullopt;
  size_t i = m.find_first_not_of('\0');
  if (i == std::string_view::npos) return std::nullopt;
  size_t bits = (m.size() - i) * 8;
  for (uint8_t top = uint8_t(m[i]); !(top & 0x80); top <<= 1) --bits;
  return bits;
}

std::string check_rsa(WireReader& r) {
  auto e = r.string();
  auto n = r.string();
  if (!e || !n) return "key data is truncated";
  if (!positive_mpint_bits(*e)) return "RSA exponent is not a positive number";
  auto bits = positive_mpint_bits(*n);
  if (!bits) return "RSA modulus is not a positive number";
  // OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE and SSHBUF_MAX_BIGNUM.
  if (*bits < 1024) return "RSA key has " + std::to_string(*bits) + " bits; OpenSSH needs at least 1024";
  if (*bits > 16384) return "RSA key has " + std::to_string(*bits) + " bits; OpenSSH takes at most 16384";
  return "";
}

// Security keys add the FIDO application ("ssh:" usually) after the key.
std::string check_sk(WireReader& r, std::string problem) {
  if (!problem.empty()) return problem;
  if (!r.string()) return "key data is truncated (no security key application)";
  return "";
}

std::string check_blob(std::string_view type, WireReader& r) {
  if (type == "ssh-ed25519") return check_ed25519(r);
  if (type == "ssh-rsa") return check_rsa(r);
  if (type == "ecdsa-sha2-nistp256") return check_ecdsa(r, {"nistp256", 32});
  if (type == "ecdsa-sha2-nistp384") return check_ecdsa(r, {"nistp384", 48});
  if (type == "ecdsa-sha2-nistp521") return check_ecdsa(r, {"nistp521", 66});
  if (type == "sk-ssh-ed25519@openssh.com") return check_sk(r, check_ed25519(r));
  return check_sk(r, check_ecdsa(r, {"nistp256", 32}));  // sk-ecdsa-sha2-nistp256@openssh.com
}

bool is_known_type(std::string_view t) {
  for (auto k : ssh_key_types()) {
    if (k == t) return true;
  }
  return false;
}

std::string expected_types() {
  std::string s;
  for (auto k : ssh_key_types()) s += (s.empty() ? "" : ", ") + std::string(k);
  return s;
}

bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return !s.empty();
}

// Text that is clearly something else than a public key line, named so that
// the user knows which file to give instead.
std::string misplaced_format(std::string_view s) {
  if (s.starts_with("-----BEGIN") && s.find("PRIVATE KEY") != std::string_view::npos) {
    return "looks like a private key; give the .pub file";
  }
  if (s.starts_with("---- BEGIN SSH2 PUBLIC KEY")) {
    return "is in RFC 4716 format; convert it with `ssh-keygen -i -f FILE`";
  }
  if (s.starts_with("-----BEGIN")) return "is PEM, not an OpenSSH public key line";
  return "";
}

std::string bad_type(std::string_view type, std::string_view rest) {
  if (type == "ssh-dss") return "is a DSA key (ssh-dss), which OpenSSH 9 no longer accepts; use ed25519";
  if (type.ends_with("-cert-v01@openssh.com")) return "is a certificate; give the plain public key";
  // authorized_keys options come first: `from="10.0.0.1",no-pty ssh-ed25519 AAAA...`.
  while (!rest.empty()) {
    std::string_view t = next_token(rest);
    if (is_known_type(t) || t == "ssh-dss") {
      return "has authorized_keys options before the key; give the bare key";
    }
  }
  std::string shown = printable(type) && type.size() <= 64 ? std::string(type) : "?";
  return "unknown key type \"" + shown + "\" (expected " + expected_types() + ")";
}

}  // namespace

const std::vector<std::string_view>& ssh_key_types() {
  static const std::vector<std::string_view> types{
      "ssh-ed25519",         "ssh-rsa",
      "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
      "sk-ecdsa-sha2-nistp256@openssh.com"};
  return types;
}

std::string SshPublicKey::line() const {
  std::string s = type + " " + base64_encode(blob);
  if (!comment.empty()) s += " " + comment;
  return s;
}

std::optional<SshPublicKey> parse_ssh_public_key(std::string_view line, std::string& why) {
  auto fail = [&why](std::string reason) {
    why = std::move(reason);
    return std::nullopt;
  };
  std::string_view rest = trim(line);
  if (rest.empty()) return fail("is empty");
  if (rest[0] == '#') return fail("is a comment, not a key");
  if (auto other = misplaced_format(rest); !other.empty()) return fail(other);
  if (rest.find('\n') != std::string_view::npos) return fail("is more than one line");

  std::string_view type = next_token(rest);
  if (!is_known_type(type)) return fail(bad_type(type, rest));
  std::string_view encoded = next_token(rest);
  if (encoded.empty()) return fail("has no key data after the type " + std::string(type));
  auto blob = base64_decode(encoded);
  if (!blob) return fail("key data is not base64");

  WireReader r(*blob);
  auto inner = r.string();
  if (!inner) return fail("key data is truncated");
  if (*inner != type) {
    if (!printable(*inner)) return fail("key data does not start with a key type");
    return fail("key type " + std::string(type) + " does not match the key data's type " +
                std::string(*inner));
  }
  if (auto problem = check_blob(type, r); !problem.empty()) return fail(problem);
  if (r.left() != 0) {
    return fail("key data has " + std::to_string(r.left()) + " bytes left over after the key");
  }
  return SshPublicKey{std::string(type), std::move(*blob), std::string(rest)};
}

SshKeyFile parse_ssh_public_keys(std::string_view text) {
  SshKeyFile out;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string_view t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::string why;
    auto key = parse_ssh_public_key(t, why);
    if (!key) {
      out.error = SshKeyFileError{number, std::move(why)};
      return out;
    }
    out.keys.push_back(std::move(*key));
  }
  return out;
}

}  // namespace banger
