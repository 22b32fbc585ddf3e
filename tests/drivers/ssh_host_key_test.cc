// Host keys from libcrypto, judged by the programs that will read them:
// ssh-keygen for OpenSSH's file, dropbearkey for Dropbear's, a real dropbear
// server and ssh client for the known_hosts line; and the public key parser
// fed with keys that ssh-keygen made.
#include "drivers/ssh_host_key.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/host_error.h"
#include "resources/base64.h"
#include "resources/ssh_public_key.h"
#include "run_command.h"

namespace banger {
namespace {

using test::run_command;
using test::TempDir;

// run_command execs a path, not a name on PATH.
const std::string kSshKeygen = "/usr/bin/ssh-keygen";
const std::string kDropbearkey = "/usr/bin/dropbearkey";
const std::string kDropbearconvert = "/usr/bin/dropbearconvert";

std::string write_private(const TempDir& dir, const std::string& name, const std::string& bytes) {
  std::string path = dir.path() + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  bool ok = ::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "ssh-ed25519 AAAA..." without the comment.
std::string type_and_key(const std::string& line) {
  size_t first = line.find(' ');
  return line.substr(0, line.find_first_of(" \n", first + 1));
}

// The binary inside the armour, to compare layouts.
std::string unarmour(const std::string& text) {
  std::string b64;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.starts_with("-----")) b64 += l;
  }
  return base64_decode(b64).value_or("");
}

// Neither `ssh-keygen -y` nor `dropbearkey -y` derives the public key from
// the secret: both print the copy stored next to it. A signature made with
// the file and checked against `public_line` is what proves the secret
// belongs to it.
void expect_signs_for(const TempDir& dir, const std::string& key_path, const std::string& public_line) {
  std::string data = dir.write("data", "banger host key check\n");
  std::string signers = dir.write("allowed_signers", "vm " + type_and_key(public_line) + "\n");
  std::filesystem::remove(data + ".sig");
  auto sign = run_command({kSshKeygen, "-Y", "sign", "-f", key_path, "-n", "banger-test", data});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  auto verify = run_command({kSshKeygen, "-Y", "verify", "-f", signers, "-I", "vm", "-n", "banger-test",
                             "-s", data + ".sig"},
                            read_text(data));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST(SshHostKey, OpenSshReadsThePrivateKey) {
  SshHostKey key = generate_ssh_host_key("banger vm web");
  TempDir dir;
  std::string path = write_private(dir, "ssh_host_ed25519_key", key.openssh_private);

  auto pub = run_command({kSshKeygen, "-y", "-f", path});
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_EQ(pub.out, key.public_line + "\n");
  EXPECT_EQ(key.public_line.substr(key.public_line.size() - 14), " banger vm web");

  auto fingerprint = run_command({kSshKeygen, "-l", "-f", path});
  ASSERT_EQ(fingerprint.exit_code, 0) << fingerprint.err;
  EXPECT_NE(fingerprint.out.find("banger vm web (ED25519)"), std::string::npos) << fingerprint.out;
  expect_signs_for(dir, path, key.public_line);
}

TEST(SshHostKey, LaidOutAsSshKeygenWritesIt) {
  SshHostKey key = generate_ssh_host_key("a comment of some length");
  TempDir dir;
  std::string path = write_private(dir, "key", key.openssh_private);
  // -p rewrites the file with ssh-keygen's own writer and fresh checkints.
  auto rewrite = run_command({kSshKeygen, "-p", "-P", "", "-N", "", "-f", path});
  ASSERT_EQ(rewrite.exit_code, 0) << rewrite.err;
  std::string theirs_text = read_text(path);
  std::string ours = unarmour(key.openssh_private), theirs = unarmour(theirs_text);
  ASSERT_EQ(ours.size(), theirs.size());
  ASSERT_GT(ours.size(), 106u);
  // The checkint pair sits at bytes 98..105: magic 15, cipher 8, kdf 8,
  // kdf options 4, key count 4, public key 4+51, section length 4.
  EXPECT_EQ(ours.substr(98, 4), ours.substr(102, 4));
  theirs.replace(98, 8, ours.substr(98, 8));
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(key.openssh_private.size(), theirs_text.size());
  EXPECT_EQ(std::count(key.openssh_private.begin(), key.openssh_private.end(), '\n'),
            std::count(theirs_text.begin(), theirs_text.end(), '\n'));
}

TEST(SshHostKey, DropbearReadsItsFile) {
  SshHostKey key = generate_ssh_host_key("x");
  ASSERT_EQ(key.dropbear_private.size(), 83u);
  TempDir dir;
  std::string path = write_private(dir, "dropbear_ed25519_host_key", key.dropbear_private);
  auto pub = run_command({kDropbearkey, "-y", "-f", path});
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  size_t at = pub.out.find("ssh-ed25519 ");
  ASSERT_NE(at, std::string::npos) << pub.out;
  EXPECT_EQ(type_and_key(pub.out.substr(at)), type_and_key(key.public_line));

  std::string converted = dir.path() + "/converted";
  auto convert = run_command({kDropbearconvert, "dropbear", "openssh", path, converted});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  expect_signs_for(dir, converted, key.public_line);
}

TEST(SshHostKey, EveryKeyIsNew) {
  SshHostKey a = generate_ssh_host_key("same"), b = generate_ssh_host_key("same");
  EXPECT_NE(a.public_line, b.public_line);
  EXPECT_NE(a.openssh_private, b.openssh_private);
  EXPECT_NE(a.dropbear_private.substr(19, 32), b.dropbear_private.substr(19, 32));
}

TEST(SshHostKey, RejectsMultiLineComments) {
  EXPECT_THROW(generate_ssh_host_key("a\nb"), HostError);
  EXPECT_THROW(generate_ssh_host_key(std::string("a\0b", 3)), HostError);
}

TEST(SshHostKey, KnownHostsLineFindsTheHost) {
  SshHostKey key = generate_ssh_host_key("web@banger");
  std::string line = known_hosts_line("banger-web", key);
  EXPECT_EQ(line, "banger-web " + type_and_key(key.public_line));
  TempDir dir;
  std::string known = dir.write("known_hosts", line + "\n");
  auto found = run_command({kSshKeygen, "-F", "banger-web", "-f", known});
  ASSERT_EQ(found.exit_code, 0) << found.out << found.err;
  EXPECT_NE(found.out.find(line), std::string::npos) << found.out;

  for (const char* bad : {"", "a b", "a,b", "web*", "|1|x", "@revoked", "#x", "a\tb", "w?"}) {
    EXPECT_THROW(known_hosts_line(bad, key), HostError) << bad;
  }
}

TEST(SshPublicKeyFromSshKeygen, EveryTypeParses) {
  TempDir dir;
  const std::vector<std::vector<std::string>> kinds{
      {"-t", "ed25519"}, {"-t", "rsa", "-b", "3072"}, {"-t", "ecdsa", "-b", "256"},
      {"-t", "ecdsa", "-b", "384"}, {"-t", "ecdsa", "-b", "521"}};
  std::string all;
  for (size_t i = 0; i < kinds.size(); ++i) {
    std::string path = dir.path() + "/k" + std::to_string(i);
    std::vector<std::string> argv{kSshKeygen, "-q", "-N", "", "-C", "user@host " + std::to_string(i),
                                  "-f", path};
    argv.insert(argv.end(), kinds[i].begin(), kinds[i].end());
    auto made = run_command(argv);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    std::string text = read_text(path + ".pub");
    std::string why;
    auto key = parse_ssh_public_key(text, why);
    ASSERT_TRUE(key) << text << why;
    EXPECT_EQ(key->line() + "\n", text);
    all += text;

    auto priv = parse_ssh_public_keys(read_text(path));
    ASSERT_TRUE(priv.error);
    EXPECT_EQ(priv.error->line, 1u);
    EXPECT_EQ(priv.error->why, "looks like a private key; give the .pub file");
  }
  auto file = parse_ssh_public_keys(all);
  EXPECT_FALSE(file.error);
  EXPECT_EQ(file.keys.size(), kinds.size());

  std::string why;
  SshHostKey host = generate_ssh_host_key("generated");
  EXPECT_TRUE(parse_ssh_public_key(host.public_line, why)) << why;
}

}  // namespace
}  // namespace banger
