// Public key lines as users paste them: real keys from ssh-keygen, key data
// built field by field for the types and faults ssh-keygen here cannot make
// (security keys, short RSA, wrong curves), and the usual wrong files.
#include "resources/ssh_public_key.h"

#include <gtest/gtest.h>

#include <initializer_list>

#include "resources/base64.h"

namespace banger {
namespace {

// Made by `ssh-keygen -t ed25519 -C alice@laptop` and `-t rsa -b 1024`.
const std::string kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdYi3/gwEJuG7jM7PYuD2dSR5It3HdAV+X0VVgXH3nK alice@laptop";
const std::string kRsa1024 =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDN0VXuU2IwmW764D99u2p4mW5aRdlQw2GDq9cbqlF+oTxQZwoJuG2Fq3NTLdtq"
    "D/g9DQRglUfzJxr5VcKxMvx0Qq3QdzOIC6/sdc3bwSGvuzrxgIbk+oeq2iSzIgcTdazrwFYQIvQMT+doYFzWGSZvstv0YqMvhTs"
    "vZzYdQXl9Lw== bob@old box";

std::string wire(std::initializer_list<std::string> fields) {
  std::string out;
  for (const auto& f : fields) {
    uint32_t n = uint32_t(f.size());
    out += {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    out += f;
  }
  return out;
}

std::string line_of(const std::string& type, const std::string& blob) {
  return type + " " + base64_encode(blob);
}

std::string point(size_t coordinate_bytes, char prefix = 4) {
  return prefix + std::string(2 * coordinate_bytes, '\x5a');
}

// A positive mpint of exactly `bits` bits.
std::string modulus(size_t bits) {
  std::string m((bits + 7) / 8, '\xff');
  m[0] = char(0xff >> ((8 - bits % 8) % 8));
  if (uint8_t(m[0]) & 0x80) m.insert(m.begin(), '\0');
  return m;
}

std::string why_rejected(const std::string& line) {
  std::string why;
  auto key = parse_ssh_public_key(line, why);
  EXPECT_FALSE(key) << line;
  return why;
}

TEST(SshPublicKey, AcceptsRealKeysAndKeepsTheComment) {
  std::string why;
  auto ed = parse_ssh_public_key("  " + kEd25519 + " \r\n", why);
  ASSERT_TRUE(ed) << why;
  EXPECT_EQ(ed->type, "ssh-ed25519");
  EXPECT_EQ(ed->blob.size(), 51u);
  EXPECT_EQ(ed->comment, "alice@laptop");
  EXPECT_EQ(ed->line(), kEd25519);

  auto rsa = parse_ssh_public_key(kRsa1024, why);
  ASSERT_TRUE(rsa) << why;
  EXPECT_EQ(rsa->comment, "bob@old box");
  EXPECT_EQ(rsa->line(), kRsa1024);

  auto bare = parse_ssh_public_key(kEd25519.substr(0, kEd25519.find(" alice")), why);
  ASSERT_TRUE(bare) << why;
  EXPECT_EQ(bare->comment, "");
  EXPECT_EQ(bare->line(), kEd25519.substr(0, kEd25519.find(" alice")));
}

TEST(SshPublicKey, AcceptsEveryTypeWithWellFormedData) {
  const std::string pk(32, '\x11');
  const std::vector<std::pair<std::string, std::string>> good{
      {"ecdsa-sha2-nistp256", wire({"ecdsa-sha2-nistp256", "nistp256", point(32)})},
      {"ecdsa-sha2-nistp384", wire({"ecdsa-sha2-nistp384", "nistp384", point(48)})},
      {"ecdsa-sha2-nistp521", wire({"ecdsa-sha2-nistp521", "nistp521", point(66)})},
      {"sk-ssh-ed25519@openssh.com", wire({"sk-ssh-ed25519@openssh.com", pk, "ssh:"})},
      {"sk-ecdsa-sha2-nistp256@openssh.com",
       wire({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", point(32), "ssh:"})},
      {"ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01", modulus(1024)})},
      {"ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01", modulus(16384)})},
  };
  for (const auto& [type, blob] : good) {
    std::string why;
    EXPECT_TRUE(parse_ssh_public_key(line_of(type, blob) + " c", why)) << type << ": " << why;
  }
}

TEST(SshPublicKey, NotAKeyLine) {
  EXPECT_EQ(why_rejected(""), "is empty");
  EXPECT_EQ(why_rejected(" \t\n"), "is empty");
  EXPECT_EQ(why_rejected("# " + kEd25519), "is a comment, not a key");
  EXPECT_EQ(why_rejected("-----BEGIN OPENSSH PRIVATE KEY-----"),
            "looks like a private key; give the .pub file");
  EXPECT_EQ(why_rejected("-----BEGIN RSA PRIVATE KEY-----"), "looks like a private key; give the .pub file");
  EXPECT_NE(why_rejected("---- BEGIN SSH2 PUBLIC KEY ----").find("ssh-keygen -i"), std::string::npos);
  EXPECT_EQ(why_rejected(kEd25519 + "\n" + kEd25519), "is more than one line");
  EXPECT_EQ(why_rejected("ssh-ed25519"), "has no key data after the type ssh-ed25519");
}

TEST(SshPublicKey, OptionsBeforeTheKey) {
  const std::string why = "has authorized_keys options before the key; give the bare key";
  EXPECT_EQ(why_rejected("from=\"10.0.0.1\",no-pty " + kEd25519), why);
  EXPECT_EQ(why_rejected("command=\"echo hi there\" " + kRsa1024), why);
  EXPECT_EQ(why_rejected("restrict ssh-dss AAAA"), why);
}

TEST(SshPublicKey, UnknownDsaAndCertificateTypes) {
  std::string unknown = why_rejected("ssh-foo AAAA x");
  EXPECT_EQ(unknown.find("unknown key type \"ssh-foo\" (expected ssh-ed25519, ssh-rsa, "), 0u) << unknown;
  EXPECT_NE(unknown.find("sk-ecdsa-sha2-nistp256@openssh.com)"), std::string::npos) << unknown;
  std::string dss = why_rejected("ssh-dss " + base64_encode(wire({"ssh-dss", "p", "q", "g", "y"})));
  EXPECT_NE(dss.find("OpenSSH 9 no longer accepts"), std::string::npos) << dss;
  EXPECT_EQ(why_rejected("ssh-ed25519-cert-v01@openssh.com AAAA"),
            "is a certificate; give the plain public key");
}

TEST(SshPublicKey, DamagedBase64) {
  std::string data = kEd25519.substr(12, 68);
  EXPECT_EQ(why_rejected("ssh-ed25519 " + data.substr(0, 65)), "key data is not base64");
  EXPECT_EQ(why_rejected("ssh-ed25519 " + data.substr(0, 64)), "key data is truncated");
  EXPECT_EQ(why_rejected("ssh-ed25519 " + data.substr(0, 30) + "!" + data.substr(31)),
            "key data is not base64");
  EXPECT_EQ(why_rejected("ssh-ed25519 " + data + "AAAA"), "key data has 3 bytes left over after the key");
}

TEST(SshPublicKey, TypeDoesNotMatchTheData) {
  EXPECT_EQ(why_rejected("ssh-rsa " + kEd25519.substr(12)),
            "key type ssh-rsa does not match the key data's type ssh-ed25519");
  EXPECT_EQ(why_rejected(line_of("ssh-ed25519", wire({"\x01\x02", std::string(32, 'k')}))),
            "key data does not start with a key type");
}

TEST(SshPublicKey, BadFieldsPerType) {
  auto rejected = [](const std::string& type, const std::string& blob) {
    return why_rejected(line_of(type, blob));
  };
  EXPECT_EQ(rejected("ssh-ed25519", wire({"ssh-ed25519", std::string(31, 'k')})),
            "ed25519 key is 31 bytes, not 32");
  EXPECT_EQ(rejected("ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01", modulus(1023)})),
            "RSA key has 1023 bits; OpenSSH needs at least 1024");
  EXPECT_EQ(rejected("ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01", modulus(16392)})),
            "RSA key has 16392 bits; OpenSSH takes at most 16384");
  EXPECT_EQ(rejected("ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01", modulus(2048).substr(1)})),
            "RSA modulus is not a positive number");
  EXPECT_EQ(rejected("ssh-rsa", wire({"ssh-rsa", "", modulus(2048)})), "RSA exponent is not a positive number");
  EXPECT_EQ(rejected("ssh-rsa", wire({"ssh-rsa", "\x01\x00\x01"})), "key data is truncated");
  EXPECT_EQ(rejected("ecdsa-sha2-nistp384", wire({"ecdsa-sha2-nistp384", "nistp256", point(32)})),
            "ECDSA key data names curve \"nistp256\", not nistp384");
  EXPECT_EQ(rejected("ecdsa-sha2-nistp256", wire({"ecdsa-sha2-nistp256", "nistp256", point(16)})),
            "ECDSA key data does not hold an uncompressed nistp256 point");
  EXPECT_EQ(rejected("ecdsa-sha2-nistp256", wire({"ecdsa-sha2-nistp256", "nistp256", point(32, 2)})),
            "ECDSA key data does not hold an uncompressed nistp256 point");
  EXPECT_EQ(rejected("sk-ssh-ed25519@openssh.com", wire({"sk-ssh-ed25519@openssh.com", std::string(32, 'k')})),
            "key data is truncated (no security key application)");
}

TEST(SshPublicKey, FileReportsTheFirstBadLine) {
  auto ok = parse_ssh_public_keys("# laptop\r\n" + kEd25519 + "\r\n\n  \n" + kRsa1024 + "\n");
  EXPECT_FALSE(ok.error);
  ASSERT_EQ(ok.keys.size(), 2u);
  EXPECT_EQ(ok.keys[1].comment, "bob@old box");

  auto bad = parse_ssh_public_keys(kEd25519 + "\n\n# next\nssh-rsa AAAA\n" + kRsa1024);
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->line, 4u);
  EXPECT_EQ(bad.error->why, "key data is truncated");
  EXPECT_EQ(bad.keys.size(), 1u);

  auto priv = parse_ssh_public_keys("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n");
  ASSERT_TRUE(priv.error);
  EXPECT_EQ(priv.error->line, 1u);
  EXPECT_EQ(priv.error->why, "looks like a private key; give the .pub file");

  EXPECT_TRUE(parse_ssh_public_keys("").keys.empty());
  EXPECT_FALSE(parse_ssh_public_keys("\n# only a comment\n").error);
}

TEST(Base64, RoundTripsAndIsStrict) {
  std::string bytes;
  for (int n = 0; n < 12; ++n) {
    auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, bytes);
    bytes += char(0xf0 + n);
  }
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  for (const char* bad : {"Zm9vYh==", "Zm9vYmE=x", "Zm9", "Zg=a", "====", "Z===", "Zm 9v", "Zm9v\n"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

}  // namespace
}  // namespace banger
