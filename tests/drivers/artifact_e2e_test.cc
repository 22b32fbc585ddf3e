// Artifacts end to end, with the real banger binary, the strict fake
// Firecracker and an HTTP server on 127.0.0.1 in this process's private
// network namespace: two VMs whose Images name the same URL (one download,
// both boot from the store), a wrong hash (apply fails, nothing kept, no VM
// started), `banger gc`, and the bad inputs of `path` artifacts (not a file,
// sha256 mismatch, the check cached by size and mtime).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "drivers/disk.h"
#include "host_e2e.h"
#include "http_server.h"

namespace fs = std::filesystem;
using banger::test::CommandResult;
using banger::test::HttpServer;
using banger::test::run_command;
using banger::test::TempDir;

namespace {

std::string files_in(const std::string& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_directory()) out += e.path().string() + "\n";
  }
  return out;
}

class ArtifactE2E : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    stop_timeout_ = "3s";
    server_ = std::make_unique<HttpServer>();
    kernel_ = std::string(4096, 'k');
    rootfs_ = std::string(2 << 20, '\0');
    for (size_t i = 0; i < rootfs_.size(); i += 4096) rootfs_[i] = static_cast<char>(i / 4096);
    server_->serve("/vmlinux", kernel_);
    server_->serve("/rootfs.ext4", rootfs_);
    kernel_sha_ = banger::sha256_file(dir_->write("k.bin", kernel_));
    rootfs_sha_ = banger::sha256_file(dir_->write("r.bin", rootfs_));
  }

  std::string artifact(const std::string& kind, const std::string& name, const std::string& spec) {
    return "---\napiVersion: banger.dev/v1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec: " + spec + "\n";
  }
  std::string vm(const std::string& name, const std::string& image) {
    return artifact("VM", name,
                    "{kernel: k, image: " + image + ", network: art, runtime: firecracker, diskStrategy: copy}");
  }
  std::string network() { return artifact("Network", "art", "{subnet: 10.78.0.0/24}"); }
  std::string url_kernel() {
    return artifact("Kernel", "k", "{url: \"" + server_->url("/vmlinux") + "\", sha256: " + kernel_sha_ + "}");
  }

  void write(const std::string& text) { dir_->write("m/all.yaml", text); }

  std::string state() const { return dir_->path() + "/state"; }

  nlohmann::json boot_source(const std::string& vm) { return banger::test::boot_source_in(root(), vm); }

  std::unique_ptr<HttpServer> server_;
  std::string kernel_, rootfs_, kernel_sha_, rootfs_sha_;
};

TEST_F(ArtifactE2E, TwoVmsNamingTheSameUrlShareOneDownload) {
  const std::string url = server_->url("/rootfs.ext4");
  write(network() + url_kernel() +
        artifact("Image", "img-a", "{url: \"" + url + "\", sha256: " + rootfs_sha_ + "}") +
        artifact("Image", "img-b", "{url: \"" + url + "\", sha256: " + rootfs_sha_ + "}") + vm("a", "img-a") +
        vm("b", "img-b"));
  // diff downloads nothing: the plan shows the artifacts to create.
  auto d = banger({"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("  + Image/img-a"), std::string::npos) << d.out;
  EXPECT_EQ(server_->requests("/rootfs.ext4") + server_->requests("/vmlinux"), 0);

  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(server_->requests("/rootfs.ext4"), 1);
  EXPECT_EQ(server_->requests("/vmlinux"), 1);
  // Not a terminal: one line per finished download on stderr.
  EXPECT_NE(a.err.find("Downloaded Kernel/k: 4.0 KiB in "), std::string::npos) << a.err;
  EXPECT_NE(a.err.find(" sha256:" + kernel_sha_.substr(0, 12) + "…\n"), std::string::npos) << a.err;
  EXPECT_NE(a.out.find("Kernel/k: downloaded 0.0 MiB in "), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("sha256:" + rootfs_sha_.substr(0, 12) + " in the artifact store"), std::string::npos)
      << "one of the two images found the other's download\n" << a.out;
  const std::string stored_kernel = state() + "/artifacts/sha256/" + kernel_sha_;
  EXPECT_EQ(boot_source("a")["kernel_image_path"], stored_kernel);
  EXPECT_EQ(boot_source("b")["kernel_image_path"], stored_kernel);
  EXPECT_TRUE(fs::exists(state() + "/artifacts/sha256/" + rootfs_sha_));
  EXPECT_TRUE(fs::is_empty(state() + "/artifacts/tmp"));

  d = banger({"diff", "-f", dir_->path() + "/m"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;

  // gc keeps what applied resources use...
  auto g = banger({"gc"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, "gc: 0 items removed, 0 B freed\n");
  // ...and removes it once they are deleted.
  ASSERT_EQ(banger({"delete", "-f", dir_->path() + "/m"}).exit_code, 0);
  g = banger({"gc", "--dry-run"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("would remove artifacts/sha256/" + kernel_sha_ + " (artifact, 4.0 KiB, from " +
                       server_->url("/vmlinux") + ")\n"),
            std::string::npos)
      << g.out;
  EXPECT_NE(g.out.find("gc --dry-run: 2 items, 2.0 MiB would be freed\n"), std::string::npos) << g.out;
  EXPECT_TRUE(fs::exists(stored_kernel));
  g = banger({"gc"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("gc: 2 items removed"), std::string::npos) << g.out;
  EXPECT_EQ(files_in(state() + "/artifacts"), "");
}

TEST_F(ArtifactE2E, WrongHashFailsApplyKeepsNothingAndStartsNoVm) {
  const std::string wrong(64, 'a');
  const std::string url = server_->url("/rootfs.ext4");
  write(network() + url_kernel() + artifact("Image", "img", "{url: \"" + url + "\", sha256: " + wrong + "}") +
        vm("web", "img"));
  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(a.exit_code, 1) << a.out << a.err;
  const std::string msg = "Image/img: sha256 mismatch for " + url + ": expected " + wrong + ", got " + rootfs_sha_ +
                          " (2097152 bytes downloaded and deleted; check spec.sha256 and spec.url)";
  EXPECT_NE((a.out + a.err).find(msg), std::string::npos) << a.out << a.err;
  EXPECT_NE(a.out.find("VM/web: skipped"), std::string::npos) << a.out;
  EXPECT_FALSE(fs::exists(state() + "/artifacts/sha256/" + wrong));
  EXPECT_FALSE(fs::exists(state() + "/artifacts/tmp/" + wrong + ".part"));
  EXPECT_EQ(files_in(state() + "/artifacts/tmp"), "");
  EXPECT_FALSE(fs::exists(dir_->path() + "/run/vms/web")) << "a VM was started";
  EXPECT_FALSE(fs::exists(state() + "/vms/web/disk.img"));
}

TEST_F(ArtifactE2E, NotFoundUrlFailsApplyWithTheStatus) {
  const std::string url = server_->url("/nope");
  write(artifact("Kernel", "k", "{url: \"" + url + "\", sha256: " + kernel_sha_ + "}"));
  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("Kernel/k: failed: Kernel/k: downloading " + url +
                       ": the server answered HTTP 404 Not Found (check spec.url)"),
            std::string::npos)
      << a.out << a.err;
  EXPECT_EQ(files_in(state() + "/artifacts"), "");
}

TEST_F(ArtifactE2E, ImageThatIsNotAFileIsAClearError) {
  fs::create_directories(dir_->path() + "/adir");
  write(artifact("Image", "img", "{path: " + dir_->path() + "/adir}"));
  // Caught when the manifests load: file, line, resource and field, and
  // nothing on the host is touched.
  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.err.find("/m/all.yaml:5:14: Image/img: spec.path: \"" + dir_->path() +
                       "/adir\" is not a regular file (expected a disk image file)"),
            std::string::npos)
      << a.out << a.err;
  EXPECT_EQ(a.out, "");
}

TEST_F(ArtifactE2E, PathSha256IsCheckedOnceUntilTheFileChanges) {
  const std::string file = dir_->write("vmlinux", kernel_);
  // 1. a wrong sha256 on a path: the resource, the path and both hashes
  const std::string wrong(64, 'f');
  write(artifact("Kernel", "k", "{path: " + file + ", sha256: " + wrong + "}"));
  auto a = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("Kernel/k: spec.sha256: sha256 mismatch for " + file + ": expected " + wrong + ", got " +
                       kernel_sha_ + " (fix spec.sha256, or the file)"),
            std::string::npos)
      << a.out << a.err;

  // 2. right hash: hashed (the mismatch run cached the file's real hash)
  write(artifact("Kernel", "k", "{path: " + file + ", sha256: " + kernel_sha_ + "}"));
  a = banger({"apply", "-f", dir_->path() + "/m"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("Kernel/k: sha256 verified (unchanged since last check)"), std::string::npos) << a.out;

  // 3. the file changes (new mtime): hashed again, and the change is caught
  ASSERT_EQ(banger({"delete", "kernel", "k"}).exit_code, 0);
  std::ofstream(file, std::ios::binary) << std::string(4096, 'K');
  a = banger({"apply", "-f", dir_->path() + "/m"});
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("sha256 mismatch for " + file), std::string::npos) << a.out;
  std::ofstream(file, std::ios::binary) << kernel_;
  a = banger({"apply", "-f", dir_->path() + "/m"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("Kernel/k: verified sha256"), std::string::npos) << a.out;
}

}  // namespace

namespace {

// apply --prune collects the downloads of the Kernels and Images it pruned,
// and only those.
TEST_F(ArtifactE2E, PruneRemovesThePrunedImagesDownloadOnly) {
  const std::string url = server_->url("/rootfs.ext4");
  const std::string image = artifact("Image", "img", "{url: \"" + url + "\", sha256: " + rootfs_sha_ + "}");
  write(network() + url_kernel() + image + vm("a", "img"));
  ASSERT_EQ(banger({"apply", "-f", dir_->path() + "/m"}).exit_code, 0);
  const std::string stored_image = state() + "/artifacts/sha256/" + rootfs_sha_;
  const std::string stored_kernel = state() + "/artifacts/sha256/" + kernel_sha_;
  ASSERT_TRUE(fs::exists(stored_image));

  write(network() + url_kernel());
  auto a = banger({"apply", "-f", dir_->path() + "/m", "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("gc: removed " + stored_image + " (artifact of a pruned resource, 2.0 MiB)"),
            std::string::npos)
      << a.out;
  EXPECT_FALSE(fs::exists(stored_image));
  EXPECT_TRUE(fs::exists(stored_kernel)) << "the kernel is still applied";
}

}  // namespace
