// OCI pull figures: an image of about MIB MiB (two gzip layers of files that
// compress as a distribution's do, roughly 2.5:1), pushed by skopeo to
// Debian's docker-registry on 127.0.0.1 in a private network namespace, then
// pulled by banger: download + verify + flatten + mke2fs, and a second pull
// (a cache hit: one manifest request). Prints time and space.
// Usage: bench_oci [MIB=100]   (root: a network namespace; docker-registry,
// skopeo and mke2fs installed)
#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/host_error.h"
#include "drivers/artifact_store.h"
#include "drivers/oci_pull.h"
#include "drivers/sha256.h"
#include "bench_netns.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// Text-like content: words from a small vocabulary, which gzip packs about
// as well as it packs binaries and text in a root filesystem.
std::string content(std::mt19937& rng, size_t size) {
  static const char* words[] = {"lib", "usr", "share", "config", "0x7f", "ELF", "return", "static", "int", "\n",
                                "void", "const", "char", "struct", "{", "}", "if", "else", "for", "while"};
  std::string s;
  s.reserve(size + 16);
  while (s.size() < size) {
    s += words[rng() % 20];
    s += static_cast<char>('a' + rng() % 26);
    s += ' ';
  }
  s.resize(size);
  return s;
}

// A tar+gzip layer of `files` files of `file_size` bytes under `prefix`.
std::string write_layer(const std::string& path, const std::string& prefix, int files, size_t file_size,
                        std::mt19937& rng) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_gzip(a.get());
  archive_write_open_filename(a.get(), path.c_str());
  for (int i = 0; i < files; ++i) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    const std::string name = prefix + "/f" + std::to_string(i);
    const std::string data = content(rng, file_size);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    archive_write_header(a.get(), e.get());
    archive_write_data(a.get(), data.data(), data.size());
  }
  archive_write_close(a.get());
  return path;
}

struct Blob {
  std::string digest;
  uint64_t size;
};

Blob add_blob(const std::string& layout, const std::string& bytes) {
  const std::string hex = banger::sha256_hex(bytes);
  std::ofstream(layout + "/blobs/sha256/" + hex, std::ios::binary) << bytes;
  return {"sha256:" + hex, bytes.size()};
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

uint64_t du(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  struct stat self;
  if (::lstat(dir.c_str(), &self) == 0 && !S_ISDIR(self.st_mode)) return static_cast<uint64_t>(self.st_blocks) * 512;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  if (!banger::bench::enter_private_netns("bench_oci")) return 2;
  if (sh("command -v docker-registry >/dev/null && command -v skopeo >/dev/null") != 0) {
    std::fprintf(stderr, "bench_oci: docker-registry and skopeo are needed (make deps)\n");
    return 2;
  }
  char tmpl[] = "/var/tmp/banger-oci-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl, layout = dir + "/layout";
  fs::create_directories(layout + "/blobs/sha256");
  std::ofstream(layout + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";

  // Two layers: 60% and 40% of the content, files of 256 KiB.
  std::mt19937 rng(42);
  const size_t file_size = 256 << 10;
  const int files = static_cast<int>(mib * (1 << 20) / file_size);
  json manifest = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"layers", json::array()}};
  json config = {{"architecture", "amd64"}, {"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  uint64_t packed = 0;
  for (int l = 0; l < 2; ++l) {
    const int n = l == 0 ? files * 6 / 10 : files - files * 6 / 10;
    const std::string tgz = write_layer(dir + "/layer" + std::to_string(l) + ".tgz", "data" + std::to_string(l), n,
                                        file_size, rng);
    Blob b = add_blob(layout, slurp(tgz));
    packed += b.size;
    // diff_ids: the plain tar's digest, as gunzip gives it.
    const std::string plain = dir + "/layer" + std::to_string(l) + ".tar";
    sh("gzip -dc " + tgz + " > " + plain);
    config["rootfs"]["diff_ids"].push_back("sha256:" + banger::sha256_file(plain));
    fs::remove(plain);
    manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", b.digest}, {"size", b.size}});
  }
  Blob c = add_blob(layout, config.dump());
  manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", c.digest}, {"size", c.size}};
  Blob m = add_blob(layout, manifest.dump());
  std::ofstream(layout + "/index.json") << json{{"schemaVersion", 2},
                                                {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                                                {"digest", m.digest}, {"size", m.size},
                                                                {"annotations", {{"org.opencontainers.image.ref.name", "v1"}}}}}}}
                                               .dump();

  std::ofstream(dir + "/registry.yml") << "version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: " << dir
                                       << "/data}\nhttp:\n  addr: 127.0.0.1:5000\n";
  pid_t reg = fork();
  if (reg == 0) {
    freopen((dir + "/registry.log").c_str(), "w", stdout);
    freopen((dir + "/registry.log").c_str(), "a", stderr);
    execlp("docker-registry", "docker-registry", "serve", (dir + "/registry.yml").c_str(), nullptr);
    _exit(127);
  }
  int rc = 0;
  for (int i = 0; i < 500 && sh("curl -sf -o /dev/null http://127.0.0.1:5000/v2/") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (sh("skopeo copy -q --dest-tls-verify=false oci:" + layout + ":v1 docker://127.0.0.1:5000/bench/image:v1") != 0) {
    std::fprintf(stderr, "bench_oci: skopeo could not push\n");
    rc = 1;
  } else {
    try {
      const std::string state = dir + "/state";
      fs::create_directories(state);
      banger::ArtifactStore store(state, {});
      banger::OciPullRequest q;
      q.label = "Image/bench";
      std::string why;
      q.ref = *banger::parse_oci_ref("127.0.0.1:5000/bench/image:v1", why);
      q.insecure = true;
      sh("sync");
      auto t0 = Clock::now();
      banger::OciPulled p = banger::pull_oci_image(store, state, q);
      const double first = since(t0);
      t0 = Clock::now();
      banger::OciPulled again = banger::pull_oci_image(store, state, q);
      const double second = since(t0);
      std::printf("OCI pull from a local registry (docker-registry on 127.0.0.1), %zu MiB of files in 2 gzip layers\n", mib);
      std::printf("  compressed layers: %.1f MiB; unpacked content: %.1f MiB\n", packed / 1048576.0,
                  p.content_bytes / 1048576.0);
      std::printf("  first pull (download + verify + flatten + mke2fs): %.2f s\n", first);
      std::printf("  second pull (cache hit: one manifest request): %.3f s (cached=%d)\n", second, again.cached ? 1 : 0);
      std::printf("  ext4 image: %.1f MiB apparent, %.1f MiB on disk; blobs kept: %.1f MiB\n", p.size / 1048576.0,
                  du(p.path) / 1048576.0, du(state + "/artifacts") / 1048576.0);
    } catch (const banger::HostError& e) {
      std::fprintf(stderr, "bench_oci: %s\n", e.what());
      rc = 1;
    }
  }
  kill(reg, SIGKILL);
  waitpid(reg, nullptr, 0);
  fs::remove_all(dir);
  return rc;
}
