// A real registry (Debian's docker-registry, the reference distribution
// server) on 127.0.0.1 in this process's private network namespace, filled
// by skopeo from OCI layouts written here by hand; pull_oci_image against
// it, and the image read back with debugfs. With Basic auth too.
#include <crypt.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/host_error.h"
#include "drivers/oci_manifest.h"
#include "drivers/oci_pull.h"
#include "drivers/sha256.h"
#include "resources/base64.h"
#include "host_e2e.h"
#include "http_server.h"
#include "netns.h"
#include "oci_layers.h"
#include "oci_registry_fixture.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::Entry;
using test::sh;

using test::Blob;
using test::kRegistry;
using Layout = test::OciLayout;

class OciPull : public test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    if (std::string tool = test::LocalRegistry::missing_tool(); !tool.empty()) GTEST_SKIP() << tool << " is not installed";
    test::bring_up_loopback();
    state_ = root() + "/state";
    fs::create_directories(state_);
    registry_ = std::make_unique<test::LocalRegistry>(root());
  }
  void TearDown() override {
    registry_.reset();
    HostE2E::TearDown();
  }
  void start_registry(const std::string& auth = "") { registry_->start(auth); }
  void stop_registry() { registry_->stop(); }
  void push(const Layout& l, const std::string& tag, const std::string& dest, bool all = false,
            const std::string& creds = "") {
    registry_->push(l, tag, dest, all, creds);
  }
  OciPullRequest request(const std::string& ref) {
    OciPullRequest q;
    q.label = "Image/test";
    std::string why;
    auto parsed = parse_oci_ref(ref, why);
    EXPECT_TRUE(parsed) << why;
    q.ref = parsed.value_or(OciRef{});
    q.insecure = true;
    return q;
  }
  std::string debugfs(const std::string& image, const std::string& cmd) {
    return sh("debugfs -R '" + cmd + "' " + image + " 2>/dev/null").out;
  }
  std::string refused(ArtifactStore& store, const OciPullRequest& q) {
    try {
      pull_oci_image(store, state_, q);
    } catch (const HostError& e) {
      return e.what();
    }
    ADD_FAILURE() << "pulled";
    return "";
  }
  // Nothing half-made: no staging folder or partial image.
  void no_staging() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_ + "/images/oci/tmp", ec)) ADD_FAILURE() << "left behind: " << e.path();
  }
  // After failures alone: no image at all.
  void nothing_left() {
    no_staging();
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(state_ + "/images", ec)) {
      EXPECT_TRUE(e.is_directory()) << "left behind: " << e.path();
    }
  }
  std::vector<Entry> base_layer() {
    return {{"etc/", AE_IFDIR, "", 0755},
            {"etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\n"},
            {"etc/motd", AE_IFREG, "lower\n"},
            {"bin/", AE_IFDIR, "", 0755},
            {"bin/busybox", AE_IFREG, std::string(200 << 10, 'B'), 0755},
            {"bin/sh", AE_IFLNK, "busybox", 0777},
            {"bin/ls", AE_IFREG, "bin/busybox", 0755, 0, 0, true},
            {"home/", AE_IFDIR, "", 0755},
            {"home/user/", AE_IFDIR, "", 0700, 1000, 1000}};
  }
  std::vector<Entry> top_layer() {
    return {{"etc/.wh.motd", AE_IFREG, ""}, {"etc/hostname", AE_IFREG, "from-registry\n", 0600, 0, 0}};
  }

  std::string state_;
  std::unique_ptr<test::LocalRegistry> registry_;
};

TEST_F(OciPull, TwoLayersFromARealRegistryBecomeAnExt4ImageThenACacheHit) {
  start_registry();
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer(), top_layer()});
  l.tag("v1", img);
  push(l, "v1", "team/app:v1");

  ArtifactStore store(state_, {});
  auto t0 = std::chrono::steady_clock::now();
  OciPulled p = pull_oci_image(store, state_, request(std::string(kRegistry) + "/team/app:v1"));
  const double first = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(p.manifest_digest, img.digest) << "skopeo kept the OCI manifest as it was";
  EXPECT_FALSE(p.cached);
  EXPECT_EQ(p.layers_downloaded, 2);
  EXPECT_EQ(p.path, oci_image_path(state_, img.digest));
  EXPECT_EQ(fs::status(p.path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  EXPECT_GE(p.content_bytes, 200u << 10);

  // Read back without mounting.
  EXPECT_EQ(debugfs(p.path, "cat /etc/hostname"), "from-registry\n");
  EXPECT_EQ(debugfs(p.path, "cat /etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_NE(sh("debugfs -R 'stat /etc/motd' " + p.path + " 2>&1").out.find("not found"), std::string::npos)
      << "the whiteout removed it";
  std::string hostname = debugfs(p.path, "stat /etc/hostname");
  EXPECT_NE(hostname.find("Mode:  0600"), std::string::npos) << hostname;
  std::string home = debugfs(p.path, "stat /home/user");
  EXPECT_NE(home.find("User:  1000"), std::string::npos) << home;
  EXPECT_NE(home.find("Mode:  0700"), std::string::npos) << home;
  std::string busybox = debugfs(p.path, "stat /bin/busybox");
  EXPECT_NE(busybox.find("Links: 2"), std::string::npos) << "the hard link\n" << busybox;
  std::string sh_link = debugfs(p.path, "stat /bin/sh");
  EXPECT_NE(sh_link.find("Type: symlink"), std::string::npos) << sh_link;
  EXPECT_NE(sh_link.find("Fast link dest: \"busybox\""), std::string::npos) << sh_link;
  EXPECT_EQ(sh("e2fsck -fn " + p.path + " >/dev/null 2>&1").exit_code, 0);

  t0 = std::chrono::steady_clock::now();
  OciPulled again = pull_oci_image(store, state_, request(std::string(kRegistry) + "/team/app:v1"));
  const double second = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.layers_downloaded, 0);
  EXPECT_EQ(again.path, p.path);
  std::cout << "pull+flatten of 2 layers: " << first << " s; again (cache hit): " << second << " s\n";
  no_staging();

  // By digest, the same image from the cache; a moved tag is a new digest.
  EXPECT_TRUE(pull_oci_image(store, state_, request(std::string(kRegistry) + "/team/app@" + img.digest)).cached);
  Blob img2 = l.image({base_layer()});
  l.tag("v1b", img2);
  push(l, "v1b", "team/app:v1");
  OciPulled moved = pull_oci_image(store, state_, request(std::string(kRegistry) + "/team/app:v1"));
  EXPECT_EQ(moved.manifest_digest, img2.digest);
  EXPECT_FALSE(moved.cached);
  EXPECT_EQ(moved.layers_downloaded, 0) << "its one layer was in the store already";
  EXPECT_EQ(debugfs(moved.path, "cat /etc/motd"), "lower\n");
}

TEST_F(OciPull, AnIndexIsResolvedForThePlatform) {
  start_registry();
  Layout l(root() + "/layout");
  Blob amd = l.image({{{"arch", AE_IFREG, "amd64\n"}}}, "amd64");
  Blob arm = l.image({{{"arch", AE_IFREG, "arm64\n"}}}, "arm64");
  json index = {{"schemaVersion", 2},
                {"mediaType", oci_media::kIndex},
                {"manifests",
                 {{{"mediaType", oci_media::kManifest}, {"digest", arm.digest}, {"size", arm.size},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}},
                  {{"mediaType", oci_media::kManifest}, {"digest", amd.digest}, {"size", amd.size},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  Blob idx = l.add(index.dump());
  l.tag("multi", idx, oci_media::kIndex);
  push(l, "multi", "multi:1", /*all=*/true);

  ArtifactStore store(state_, {});
  OciPullRequest q = request(std::string(kRegistry) + "/multi:1");
  OciPulled p = pull_oci_image(store, state_, q);
  EXPECT_EQ(p.manifest_digest, amd.digest);
  EXPECT_EQ(debugfs(p.path, "cat /arch"), "amd64\n");
  q.platform = {"linux", "arm64", ""};
  p = pull_oci_image(store, state_, q);
  EXPECT_EQ(p.manifest_digest, arm.digest);
  EXPECT_EQ(debugfs(p.path, "cat /arch"), "arm64\n");
  q.platform = {"linux", "riscv64", ""};
  std::string e = refused(store, q);
  EXPECT_NE(e.find("Image/test: 127.0.0.1:5000/multi:1: has no image for platform linux/riscv64 (it has: "
                   "linux/arm64/v8, linux/amd64)"),
            std::string::npos)
      << e;
}

TEST_F(OciPull, UnknownTagsUnreachableRegistriesAndCorruptBlobsFailClearlyAndLeaveNothing) {
  start_registry();
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer()});
  l.tag("v1", img);
  push(l, "v1", "app:v1");
  ArtifactStore store(state_, {.retries = 0, .backoff = std::chrono::milliseconds(1)});

  std::string e = refused(store, request(std::string(kRegistry) + "/app:nope"));
  EXPECT_NE(e.find("127.0.0.1:5000/app:nope: not found in the registry"), std::string::npos) << e;
  e = refused(store, request(std::string(kRegistry) + "/nobody/here:v1"));
  EXPECT_NE(e.find("not found in the registry"), std::string::npos) << e;
  e = refused(store, request("127.0.0.1:5999/app:v1"));
  EXPECT_NE(e.find("cannot reach http://127.0.0.1:5999/v2/app/manifests/v1"), std::string::npos) << e;
  OciPullRequest tls = request(std::string(kRegistry) + "/app:v1");
  tls.insecure = false;
  e = refused(store, tls);
  EXPECT_NE(e.find("a plain-HTTP registry needs insecure: true"), std::string::npos) << e;
  nothing_left();

  // The registry's stored layer changed under it: the digest check catches it.
  const std::string layer_hex = [&] {
    std::ifstream f(l.dir() + "/blobs/sha256/" + img.digest.substr(7));
    json m = json::parse(f);
    return m["layers"][0]["digest"].get<std::string>().substr(7);
  }();
  const std::string data = registry_->blob_data(layer_hex);
  ASSERT_TRUE(fs::exists(data));
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('X');
  }
  e = refused(store, request(std::string(kRegistry) + "/app:v1"));
  EXPECT_NE(e.find("sha256 mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("the registry sent a blob that is not sha256:" + layer_hex), std::string::npos) << e;
  EXPECT_TRUE(store.list().empty()) << "a corrupt blob was kept";
  nothing_left();
}

TEST_F(OciPull, BasicAuthWithCredentialsAndARefusalWithout) {
  // bcrypt, as the registry's htpasswd wants, from libcrypt.
  const char* hash = crypt("s3cret", "$2b$05$abcdefghijklmnopqrstuu");
  ASSERT_TRUE(hash && hash[0] == '$') << "libcrypt has no bcrypt";
  std::ofstream(root() + "/htpasswd") << "alice:" << hash << "\n";
  start_registry("auth:\n  htpasswd: {realm: test, path: " + root() + "/htpasswd}\n");
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer()});
  l.tag("v1", img);
  push(l, "v1", "private/app:v1", false, "alice:s3cret");

  ArtifactStore store(state_, {.retries = 0, .backoff = std::chrono::milliseconds(1)});
  OciPullRequest q = request(std::string(kRegistry) + "/private/app:v1");
  std::string e = refused(store, q);
  EXPECT_NE(e.find("the registry refused access (HTTP 401): set credentialsFile"), std::string::npos) << e;
  q.credentials = RegistryCredentials{"alice", "wrong"};
  e = refused(store, q);
  EXPECT_NE(e.find("check the credentials for alice"), std::string::npos) << e;
  nothing_left();

  // From a docker config.json, as credentialsFile gives them.
  const std::string config = R"({"auths":{"127.0.0.1:5000":{"auth":")" + base64_encode("alice:s3cret") + R"("}}})";
  q.credentials = docker_config_credentials(config, kRegistry, "config.json");
  ASSERT_TRUE(q.credentials);
  OciPulled p = pull_oci_image(store, state_, q);
  EXPECT_EQ(p.manifest_digest, img.digest);
  EXPECT_EQ(debugfs(p.path, "cat /etc/motd"), "lower\n");
}

// The Bearer flow of Docker Hub, ghcr.io and most registries: a 401 names a
// token service; its token (a JWT signed here with openssl, the issuer's
// certificate the registry's root) opens the manifest and the blobs.
std::string b64url(const std::string& bytes) {
  std::string b = base64_encode(bytes);
  while (!b.empty() && b.back() == '=') b.pop_back();
  for (char& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return b;
}

TEST_F(OciPull, ATokenFromTheRegistrysTokenServiceOpensAPrivateRepository) {
  if (sh("command -v openssl").exit_code != 0) GTEST_SKIP() << "openssl is not installed";
  // Filled while open, then served with token auth only.
  start_registry();
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer(), top_layer()});
  l.tag("v1", img);
  push(l, "v1", "private/app:v1");
  stop_registry();

  const std::string d = root();
  ASSERT_EQ(sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/key.pem -out " + d +
               "/cert.pem -days 1 -subj /CN=test-issuer 2>&1").exit_code, 0);
  const std::string der = sh("openssl x509 -in " + d + "/cert.pem -outform DER | base64 -w0").out;
  const long now = static_cast<long>(std::time(nullptr));
  json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5c", {der}}};
  json claims = {{"iss", "test-issuer"}, {"sub", ""}, {"aud", "test-registry"}, {"exp", now + 3600},
                 {"nbf", now - 60}, {"iat", now - 60}, {"jti", "banger-test"},
                 {"access", {{{"type", "repository"}, {"name", "private/app"}, {"actions", {"pull"}}}}}};
  const std::string signing_input = b64url(header.dump()) + "." + b64url(claims.dump());
  std::ofstream(d + "/input") << signing_input;
  const std::string sig = sh("openssl dgst -sha256 -sign " + d + "/key.pem " + d + "/input").out;
  ASSERT_FALSE(sig.empty());
  test::HttpServer issuer;
  const std::string token_path = "/token?service=test-registry&scope=repository%3Aprivate%2Fapp%3Apull";
  issuer.serve(token_path, json{{"token", signing_input + "." + b64url(sig)}}.dump());
  start_registry("auth:\n  token: {realm: \"" + issuer.url("/token") +
                 "\", service: test-registry, issuer: test-issuer, rootcertbundle: " + d + "/cert.pem}\n");

  ArtifactStore store(state_, {.retries = 0, .backoff = std::chrono::milliseconds(1)});
  OciPulled p = pull_oci_image(store, state_, request(std::string(kRegistry) + "/private/app:v1"));
  EXPECT_EQ(p.manifest_digest, img.digest);
  EXPECT_EQ(p.layers_downloaded, 2) << "the blobs came with the token too";
  EXPECT_EQ(debugfs(p.path, "cat /etc/hostname"), "from-registry\n");
  EXPECT_EQ(issuer.requests(token_path), 1);

  // A repository the token service has no token for: refused, named.
  std::string e = refused(store, request(std::string(kRegistry) + "/private/other:v1"));
  EXPECT_NE(e.find("the token service " + issuer.url("/token") + " answered HTTP 404"), std::string::npos) << e;
}


std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST_F(OciPull, AKernelImageGivesItsKernelAndInitrdFollowingLinksInsideTheImageOnly) {
  start_registry();
  Layout l(root() + "/layout");
  // As Ignite's kernel images are: /boot/vmlinux a link to the versioned file.
  Blob kernel = l.image({{{"boot/", AE_IFDIR, "", 0755},
                          {"boot/vmlinux-5.10.0", AE_IFREG, "KERNEL-5.10"},
                          {"boot/vmlinux-6.1.0", AE_IFREG, "KERNEL-6.1"},
                          {"boot/vmlinux", AE_IFLNK, "/boot/vmlinux-6.1.0", 0777},
                          {"boot/initrd.img-6.1.0", AE_IFREG, "INITRD-6.1"}}});
  l.tag("k1", kernel);
  push(l, "k1", "kernels/debian:6.1");
  // /boot is a link to /etc: the image's /etc, never the host's.
  Blob linked = l.image({{{"etc/", AE_IFDIR, "", 0755},
                          {"etc/vmlinuz-6.2", AE_IFREG, "IMAGE-ETC-KERNEL"},
                          {"boot", AE_IFLNK, "/etc", 0777}}});
  l.tag("k2", linked);
  push(l, "k2", "kernels/linked:1");
  Blob none = l.image({base_layer()});
  l.tag("k3", none);
  push(l, "k3", "kernels/none:1");

  ArtifactStore store(state_, {});
  OciPullRequest q = request(std::string(kRegistry) + "/kernels/debian:6.1");
  q.label = "Kernel/k";
  OciKernelFiles k = pull_oci_kernel(store, state_, q);
  EXPECT_EQ(k.manifest_digest, kernel.digest);
  EXPECT_FALSE(k.cached);
  EXPECT_EQ(slurp(k.kernel), "KERNEL-6.1");
  EXPECT_EQ(slurp(k.initrd), "INITRD-6.1");
  EXPECT_EQ(k.kernel, state_ + "/images/oci/" + kernel.digest.substr(7) + ".boot/kernel");
  OciKernelFiles again = pull_oci_kernel(store, state_, q);
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.kernel, k.kernel);
  EXPECT_EQ(again.initrd, k.initrd);

  q.ref = request(std::string(kRegistry) + "/kernels/linked:1").ref;
  OciKernelFiles e = pull_oci_kernel(store, state_, q);
  EXPECT_EQ(slurp(e.kernel), "IMAGE-ETC-KERNEL");
  EXPECT_EQ(e.initrd, "") << "it has none";

  q.ref = request(std::string(kRegistry) + "/kernels/none:1").ref;
  try {
    pull_oci_kernel(store, state_, q);
    ADD_FAILURE() << "an image without a kernel was taken";
  } catch (const HostError& err) {
    EXPECT_NE(std::string(err.what()).find("Kernel/k: 127.0.0.1:5000/kernels/none:1: the image has no kernel (expected "
                                           "/boot/vmlinux"),
              std::string::npos)
        << err.what();
  }
  no_staging();
  EXPECT_FALSE(fs::exists(state_ + "/images/oci/" + none.digest.substr(7) + ".boot"));

  // Pinned by its digest (as apply asks, and every VM start after it), a
  // made kernel needs no registry: one that is away starts the VM anyway.
  stop_registry();
  q.ref = request(std::string(kRegistry) + "/kernels/debian@" + kernel.digest).ref;
  OciKernelFiles offline = pull_oci_kernel(store, state_, q);
  EXPECT_TRUE(offline.cached);
  EXPECT_EQ(offline.kernel, k.kernel);
  EXPECT_EQ(offline.initrd, k.initrd);

  // What the cache holds, as `banger images` lists it.
  auto cached = list_oci_cache(state_);
  ASSERT_EQ(cached.size(), 2u) << "the two kernels; the image without one is not recorded";
  for (const OciCached& c : cached) {
    EXPECT_FALSE(c.ref.empty());
    EXPECT_EQ(c.platform, "linux/amd64");
    EXPECT_FALSE(c.layers.empty());
  }
}

TEST_F(OciPull, AnExplicitSizeIsItsOwnCacheEntryAndTooSmallASizeFailsNamingIt) {
  start_registry();
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer(), top_layer()});
  l.tag("v1", img);
  push(l, "v1", "app:v1");
  ArtifactStore store(state_, {});
  OciPullRequest q = request(std::string(kRegistry) + "/app:v1");
  q.size = 64ull << 20;
  OciPulled p = pull_oci_image(store, state_, q);
  EXPECT_EQ(p.path, oci_image_path(state_, img.digest, 64ull << 20));
  EXPECT_EQ(fs::file_size(p.path), 64ull << 20);
  OciPulled plain = pull_oci_image(store, state_, request(std::string(kRegistry) + "/app:v1"));
  EXPECT_NE(plain.path, p.path);
  EXPECT_FALSE(plain.cached);
  // Pinned and made: found with the registry away, at either size.
  stop_registry();
  OciPullRequest pinned = request(std::string(kRegistry) + "/app@" + img.digest);
  EXPECT_EQ(pull_oci_image(store, state_, pinned).path, plain.path);
  pinned.size = 64ull << 20;
  EXPECT_EQ(pull_oci_image(store, state_, pinned).path, p.path);
  start_registry();
  // Less room than the files need: the cap refuses it while unpacking.
  q.size = 100ull << 10;
  std::string e = refused(store, q);
  EXPECT_NE(e.find("Image/test: 127.0.0.1:5000/app:v1"), std::string::npos) << e;
  no_staging();
}


TEST_F(OciPull, ALayerCutShortIsResumedFromWhereItStopped) {
  start_registry();
  Layout l(root() + "/layout");
  Blob img = l.image({base_layer()});
  l.tag("v1", img);
  push(l, "v1", "app:v1");
  const std::string layer = [&] {
    std::ifstream f(l.dir() + "/blobs/sha256/" + img.digest.substr(7));
    return json::parse(f)["layers"][0]["digest"].get<std::string>().substr(7);
  }();
  // What an earlier pull cut short leaves: the first half, as a .part.
  const std::string blob = slurp(l.dir() + "/blobs/sha256/" + layer);
  fs::create_directories(state_ + "/artifacts/tmp");
  std::ofstream(state_ + "/artifacts/tmp/" + layer + ".part", std::ios::binary) << blob.substr(0, blob.size() / 2);
  ArtifactStore store(state_, {});
  OciPulled p = pull_oci_image(store, state_, request(std::string(kRegistry) + "/app:v1"));
  EXPECT_EQ(p.layers_downloaded, 1);
  EXPECT_EQ(p.bytes_resumed, blob.size() / 2) << "the registry served the rest by Range";
  EXPECT_EQ(debugfs(p.path, "cat /etc/motd"), "lower\n");
  EXPECT_EQ(slurp(state_ + "/artifacts/sha256/" + layer), blob);
}

}  // namespace
}  // namespace banger
