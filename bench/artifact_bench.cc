// Artifact figures: download throughput from an HTTP server on 127.0.0.1
// into the content-addressed store (download + sha256 + fsync + rename),
// and the cost of re-verifying a `path` artifact: a full sha256 of the file
// against the cached check banger does instead (stat + one state DB lookup).
// Usage: bench_artifacts [DOWNLOAD_MIB=256] [HASH_MIB=1024]
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "drivers/artifact_store.h"
#include "drivers/disk.h"
#include "http_server.h"
#include "state/store.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; i += 512) s[i] = static_cast<char>(i / 512);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t download_mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const size_t hash_mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  char tmpl[] = "/var/tmp/banger-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;

  {
    const std::string body = pattern(download_mib << 20);
    const std::string src = dir + "/src.img";
    std::ofstream(src, std::ios::binary) << body;
    const std::string sha = banger::sha256_file(src);
    fs::remove(src);
    banger::test::HttpServer server;
    server.serve("/img", body);
    for (int run = 1; run <= 3; ++run) {
      const std::string state = dir + "/state" + std::to_string(run);
      fs::create_directories(state);
      banger::ArtifactStore store(state, {});
      auto t0 = Clock::now();
      banger::ArtifactFetch f = store.fetch({"Image/bench", server.url("/img"), sha, std::nullopt});
      double s = since(t0);
      std::printf("download %zu MiB from 127.0.0.1 into the store (run %d): %.2f s, %.0f MiB/s "
                  "(transfer %.2f s, the rest is sha256 + fsync + rename)\n",
                  download_mib, run, s, static_cast<double>(download_mib) / s, f.download.seconds);
      fs::remove_all(state);
    }
  }

  {
    const std::string file = dir + "/big.img";
    {
      std::ofstream f(file, std::ios::binary);
      std::string chunk = pattern(1 << 20);
      for (size_t i = 0; i < hash_mib; ++i) {
        chunk[0] = static_cast<char>(i);
        f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      }
    }
    auto t0 = Clock::now();
    const std::string sha = banger::sha256_file(file);
    double full = since(t0);
    std::printf("full sha256 of a %zu MiB file: %.2f s (%.0f MiB/s)\n", hash_mib, full,
                static_cast<double>(hash_mib) / full);

    banger::Store db(dir + "/db");
    struct stat st;
    ::stat(file.c_str(), &st);
    int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    db.put_artifact_check({file, st.st_size, mtime, sha, 0});
    const int n = 1000;
    t0 = Clock::now();
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      struct stat s2;
      ::stat(file.c_str(), &s2);
      auto c = db.artifact_check(file);
      int64_t m2 = static_cast<int64_t>(s2.st_mtim.tv_sec) * 1000000000 + s2.st_mtim.tv_nsec;
      hits += c && c->size == s2.st_size && c->mtime_ns == m2 && c->sha256 == sha;
    }
    double cached = since(t0) / n;
    std::printf("cached re-verify (stat + state DB lookup): %.1f us (%d/%d hits), %.0fx faster\n", cached * 1e6,
                hits, n, full / cached);
  }
  fs::remove_all(dir);
  return 0;
}
