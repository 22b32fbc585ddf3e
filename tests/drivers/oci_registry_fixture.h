// A real registry for tests: Debian's docker-registry (the reference
// distribution server) on 127.0.0.1:5000 in the test's private network
// namespace, filled by skopeo from OCI layouts the test writes by hand.
// Shared by the pull tests (drivers) and the apply tests (the real banger).
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "drivers/oci_manifest.h"
#include "drivers/sha256.h"
#include "oci_layers.h"
#include "run_command.h"

namespace banger::test {

inline constexpr const char* kRegistry = "127.0.0.1:5000";

struct Blob {
  std::string digest;
  uint64_t size = 0;
};

/// An OCI layout folder: blobs by digest and index.json naming tags.
class OciLayout {
 public:
  explicit OciLayout(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/blobs/sha256");
    std::ofstream(dir_ + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  }
  Blob add(const std::string& bytes) {
    const std::string hex = sha256_hex(bytes);
    std::ofstream(dir_ + "/blobs/sha256/" + hex, std::ios::binary) << bytes;
    return {"sha256:" + hex, bytes.size()};
  }
  Blob add_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return add(std::string(std::istreambuf_iterator<char>(f), {}));
  }
  /// An image: layers (tar+gzip) and a config whose diff_ids are the plain tars'.
  Blob image(const std::vector<std::vector<Entry>>& layers, const std::string& arch = "amd64") {
    std::vector<std::pair<std::string, std::string>> files;
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string base = dir_ + "/layer-" + arch + std::to_string(i) + "-" + std::to_string(n_++);
      files.emplace_back(write_layer(base + ".tar", layers[i], "none"), write_layer(base + ".tgz", layers[i], "gzip"));
    }
    return image_from(files, arch);
  }
  /// An image whose layers are folders on disk, each tarred as it is
  /// (owners by number) and gzipped.
  Blob image_from_dirs(const std::vector<std::string>& dirs, const std::string& arch = "amd64") {
    std::vector<std::pair<std::string, std::string>> files;
    for (const std::string& d : dirs) {
      const std::string base = dir_ + "/dir-layer-" + std::to_string(n_++);
      auto r = run_command({"/bin/sh", "-c", "tar --numeric-owner -C '" + d + "' -cf '" + base + ".tar' . && gzip -n -c '" +
                                               base + ".tar' > '" + base + ".tgz'"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      files.emplace_back(base + ".tar", base + ".tgz");
    }
    return image_from(files, arch);
  }
  void tag(const std::string& name, const Blob& b, const char* media = oci_media::kManifest) {
    refs_.push_back({{"mediaType", media}, {"digest", b.digest}, {"size", b.size},
                     {"annotations", {{"org.opencontainers.image.ref.name", name}}}});
    std::ofstream(dir_ + "/index.json") << nlohmann::json{{"schemaVersion", 2}, {"manifests", refs_}}.dump();
  }
  const std::string& dir() const { return dir_; }

 private:
  // (plain tar, tar+gzip) per layer, bottom first.
  Blob image_from(const std::vector<std::pair<std::string, std::string>>& layers, const std::string& arch) {
    using nlohmann::json;
    json manifest = {{"schemaVersion", 2}, {"mediaType", oci_media::kManifest}, {"layers", json::array()}};
    json config = {{"architecture", arch}, {"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    for (const auto& [plain, gz] : layers) {
      Blob g = add_file(gz);
      config["rootfs"]["diff_ids"].push_back("sha256:" + sha256_file(plain));
      manifest["layers"].push_back(
          {{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", g.digest}, {"size", g.size}});
    }
    Blob c = add(config.dump());
    manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", c.digest}, {"size", c.size}};
    return add(manifest.dump());
  }
  std::string dir_;
  nlohmann::json refs_ = nlohmann::json::array();
  int n_ = 0;
};

/// The registry, its data under ROOT/registry-data; stopped by the destructor.
class LocalRegistry {
 public:
  explicit LocalRegistry(std::string root) : root_(std::move(root)) {}
  ~LocalRegistry() { stop(); }

  /// "" when docker-registry, skopeo and debugfs are all here, else the missing one.
  static std::string missing_tool() {
    for (const char* tool : {"docker-registry", "skopeo", "debugfs"}) {
      if (sh(std::string("command -v ") + tool + " || test -x /usr/sbin/" + tool).exit_code != 0) return tool;
    }
    return "";
  }
  /// `auth`: the config's auth section (htpasswd or token), "" for none.
  void start(const std::string& auth = "") {
    const std::string cfg = root_ + "/registry.yml";
    std::ofstream(cfg) << "version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: " << root_
                       << "/registry-data}\n  delete: {enabled: true}\nhttp:\n  addr: " << kRegistry << "\n"
                       << auth;
    auto r = sh("docker-registry serve " + cfg + " > " + root_ + "/registry.log 2>&1 & echo $!");
    pid_ = std::stoi(r.out);
    for (int i = 0; i < 500; ++i) {
      if (sh(std::string("curl -s -o /dev/null -w '%{http_code}' http://") + kRegistry + "/v2/").out != "000") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "the registry did not start: " << sh("cat " + root_ + "/registry.log").out;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    sh("while kill -0 " + std::to_string(pid_) + " 2>/dev/null; do sleep 0.01; done");
    pid_ = -1;
  }
  /// skopeo copy oci:LAYOUT:TAG docker://127.0.0.1:5000/DEST.
  void push(const OciLayout& l, const std::string& tag, const std::string& dest, bool all = false,
            const std::string& creds = "") {
    auto r = sh("skopeo copy -q " + std::string(all ? "--all " : "") + "--dest-tls-verify=false " +
                (creds.empty() ? "" : "--dest-creds " + creds + " ") + "oci:" + l.dir() + ":" + tag + " docker://" +
                kRegistry + "/" + dest + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  /// The registry's own copy of blob `hex` (to corrupt it).
  std::string blob_data(const std::string& hex) const {
    return root_ + "/registry-data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  }

 private:
  static CommandResult sh(const std::string& cmd) { return run_command({"/bin/sh", "-c", cmd}); }
  std::string root_;
  pid_t pid_ = -1;
};

}  // namespace banger::test
