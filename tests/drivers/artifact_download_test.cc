// The artifact store and its downloader against a real HTTP server on
// 127.0.0.1 (tests/drivers/http_server.h): a good file, a wrong hash, 404,
// retries, a connection dropped half way (resumed), a server that ignores
// Range, redirects, two fetches of the same hash at once, and a state dir on
// a full filesystem (a 1 MiB tmpfs in a private mount namespace).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "child_report.h"
#include "common/host_error.h"
#include "drivers/artifact_store.h"
#include "drivers/disk.h"
#include "http_server.h"
#include "netns.h"
#include "run_command.h"

namespace banger {
namespace {

namespace fs = std::filesystem;
using test::HttpServer;
using test::TempDir;

std::string pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + (i * 31) % 251);
  return s;
}

std::string sha_of(const std::string& data, const TempDir& t) {
  return sha256_file(t.write("hash-me", data));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_directory()) out.push_back(e.path().string());
  }
  return out;
}

DownloadOptions quick() {
  DownloadOptions o;
  o.backoff = std::chrono::milliseconds(10);
  o.connect_timeout = std::chrono::seconds(5);
  o.stall_time = std::chrono::seconds(10);
  return o;
}

class ArtifactDownload : public testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_NETNS();
    server_ = std::make_unique<HttpServer>();
    state_ = tmp_.path() + "/state";
    fs::create_directories(state_);
  }
  std::string message_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const HostError& e) {
      return e.what();
    }
    return "(no error)";
  }

  TempDir tmp_;
  std::unique_ptr<HttpServer> server_;
  std::string state_;
};

TEST_F(ArtifactDownload, GoodFileIsStoredReadOnlyUnderItsHash) {
  const std::string body = pattern(3 << 20, 'a');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  std::vector<DownloadProgress> events;
  DownloadOptions o = quick();
  o.progress = [&](const DownloadProgress& p) { events.push_back(p); };
  ArtifactStore store(state_, o);

  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_TRUE(f.downloaded);
  EXPECT_EQ(f.path, state_ + "/artifacts/sha256/" + sha);
  EXPECT_EQ(f.size, body.size());
  EXPECT_EQ(read_file(f.path), body);
  struct stat st;
  ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_TRUE(files_under(state_ + "/artifacts/tmp").empty());
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().finished);
  EXPECT_EQ(events.back().sha256, sha);
  EXPECT_EQ(events.back().done, body.size());
  EXPECT_EQ(events.back().label, "Image/web");

  // In the store: found by its name, not downloaded again.
  ArtifactFetch again = store.fetch({"Image/web", server_->url("/img"), sha, body.size()});
  EXPECT_FALSE(again.downloaded);
  EXPECT_EQ(server_->requests("/img"), 1);
  ASSERT_EQ(store.list().size(), 1u);
  EXPECT_EQ(store.list()[0].sha256, sha);
}

TEST_F(ArtifactDownload, WrongHashIsAnErrorAndNothingIsKept) {
  const std::string body = pattern(100000, 'b');
  const std::string actual = sha_of(body, tmp_);
  const std::string expected(64, 'e');
  server_->serve("/img", body);
  bool failed_reported = false;
  DownloadOptions o = quick();
  o.progress = [&](const DownloadProgress& p) {
    EXPECT_FALSE(p.finished) << "a download that fails verification is never reported finished";
    failed_reported |= p.failed;
  };
  ArtifactStore store(state_, o);
  std::string msg = message_of([&] { store.fetch({"Image/web", server_->url("/img"), expected, std::nullopt}); });
  EXPECT_EQ(msg, "Image/web: sha256 mismatch for " + server_->url("/img") + ": expected " + expected + ", got " +
                     actual + " (100000 bytes downloaded and deleted; check spec.sha256 and spec.url)");
  EXPECT_TRUE(failed_reported);
  EXPECT_TRUE(files_under(state_ + "/artifacts").empty()) << files_under(state_ + "/artifacts")[0];
}

TEST_F(ArtifactDownload, NotFoundNamesTheStatusAndIsNotRetried) {
  ArtifactStore store(state_, quick());
  const std::string url = server_->url("/missing");
  std::string msg = message_of([&] { store.fetch({"Kernel/k", url, std::string(64, 'a'), std::nullopt}); });
  EXPECT_EQ(msg, "Kernel/k: downloading " + url + ": the server answered HTTP 404 Not Found (check spec.url)");
  EXPECT_EQ(server_->requests("/missing"), 1);
  EXPECT_TRUE(files_under(state_ + "/artifacts").empty());
}

TEST_F(ArtifactDownload, DroppedConnectionIsRetriedAndResumed) {
  const std::string body = pattern(4 << 20, 'c');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  server_->drop_first_after("/img", 1 << 20);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(f.download.attempts, 2);
  EXPECT_EQ(server_->requests("/img"), 2);
  std::vector<std::string> ranges = server_->ranges("/img");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=1048576-");
}

TEST_F(ArtifactDownload, PartialFileFromAnEarlierRunIsResumed) {
  const std::string body = pattern(2 << 20, 'd');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  fs::create_directories(state_ + "/artifacts/tmp");
  std::ofstream(state_ + "/artifacts/tmp/" + sha + ".part", std::ios::binary) << body.substr(0, 700000);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(f.download.resumed_from, 700000u);
  EXPECT_EQ(server_->ranges("/img"), std::vector<std::string>{"bytes=700000-"});
}

TEST_F(ArtifactDownload, StalePartialFileIsDownloadedAfreshOnce) {
  const std::string body = pattern(1 << 20, 'e');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  fs::create_directories(state_ + "/artifacts/tmp");
  std::ofstream(state_ + "/artifacts/tmp/" + sha + ".part", std::ios::binary) << std::string(4096, 'X');
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(server_->ranges("/img"), (std::vector<std::string>{"bytes=4096-", ""}));
}

TEST_F(ArtifactDownload, ServerThatIgnoresRangeStartsFromZero) {
  const std::string body = pattern(1 << 20, 'f');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  server_->ignore_range("/img");
  fs::create_directories(state_ + "/artifacts/tmp");
  std::ofstream(state_ + "/artifacts/tmp/" + sha + ".part", std::ios::binary) << body.substr(0, 5000);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(server_->requests("/img"), 2);  // the Range request answered 200, then a plain one
}

TEST_F(ArtifactDownload, TransientStatusIsRetried) {
  const std::string body = pattern(10000, 'g');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  server_->fail_first("/img", 503, 2);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(f.download.attempts, 3);
}

TEST_F(ArtifactDownload, GivesUpAfterThreeRetries) {
  server_->serve("/img", "x");
  server_->fail_first("/img", 503, 100);
  ArtifactStore store(state_, quick());
  const std::string url = server_->url("/img");
  std::string msg = message_of([&] { store.fetch({"Image/web", url, std::string(64, 'a'), std::nullopt}); });
  EXPECT_EQ(msg, "Image/web: downloading " + url +
                     ": the server answered HTTP 503 Service Unavailable (gave up after 4 attempts)");
  EXPECT_EQ(server_->requests("/img"), 4);
  EXPECT_TRUE(files_under(state_ + "/artifacts/tmp").empty());
}

TEST_F(ArtifactDownload, ConnectionRefusedIsRetriedThenReported) {
  int port = 0;
  {
    HttpServer gone;  // a port that was free a moment ago and has no listener now
    port = gone.port();
  }
  ArtifactStore store(state_, quick());
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/img";
  std::string msg = message_of([&] { store.fetch({"Image/web", url, std::string(64, 'a'), std::nullopt}); });
  EXPECT_NE(msg.find("Image/web: downloading " + url + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find("gave up after 4 attempts"), std::string::npos) << msg;
}

TEST_F(ArtifactDownload, RedirectsAreFollowed) {
  const std::string body = pattern(5000, 'h');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/real", body);
  server_->redirect("/a", "/b");
  server_->redirect("/b", "/real");
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/a"), sha, std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
  EXPECT_EQ(server_->requests("/real"), 1);
}

TEST_F(ArtifactDownload, SameHashAtOnceIsDownloadedOnce) {
  const std::string body = pattern(8 << 20, 'i');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  ArtifactStore store(state_, quick());
  ArtifactFetch a, b;
  std::thread t1([&] { a = store.fetch({"Image/one", server_->url("/img"), sha, std::nullopt}); });
  std::thread t2([&] { b = store.fetch({"Image/two", server_->url("/img"), sha, std::nullopt}); });
  t1.join();
  t2.join();
  EXPECT_EQ(server_->requests("/img"), 1);
  EXPECT_NE(a.downloaded, b.downloaded);
  EXPECT_EQ(a.path, b.path);
}

TEST_F(ArtifactDownload, TruncatedStoreFileIsFetchedAgain) {
  const std::string body = pattern(100000, 'j');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/img", body);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", server_->url("/img"), sha, std::nullopt});
  fs::permissions(f.path, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(f.path, 10);
  ArtifactFetch again = store.fetch({"Image/web", server_->url("/img"), sha, body.size()});
  EXPECT_TRUE(again.downloaded);
  EXPECT_EQ(read_file(again.path), body);
  EXPECT_EQ(server_->requests("/img"), 2);
}

TEST_F(ArtifactDownload, FileUrlWorks) {
  const std::string body = pattern(50000, 'k');
  const std::string src = tmp_.write("local.img", body);
  ArtifactStore store(state_, quick());
  ArtifactFetch f = store.fetch({"Image/web", "file://" + src, sha256_file(src), std::nullopt});
  EXPECT_EQ(read_file(f.path), body);
}

// In a forked child with its own mount namespace: the state dir is a 1 MiB
// tmpfs, the download is 4 MiB. Reports "key=value" lines on a pipe.
std::string full_filesystem_scenario(const std::string& state, const std::string& url, const std::string& sha) {
  std::ostringstream rep;
  if (::unshare(CLONE_NEWNS) != 0) return std::string("error=unshare: ") + std::strerror(errno) + "\n";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("error=private /: ") + std::strerror(errno) + "\n";
  if (::mount("tmpfs", state.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0)
    return std::string("error=mount tmpfs: ") + std::strerror(errno) + "\n";
  ArtifactStore store(state, quick());
  try {
    store.fetch({"Image/big", url, sha, std::nullopt});
    rep << "error=no error\n";
  } catch (const DownloadWriteError& e) {
    rep << "write_error=" << e.what() << "\n";
  } catch (const std::exception& e) {
    rep << "error=" << e.what() << "\n";
  }
  rep << "files=" << files_under(state).size() << "\n";
  ::umount2(state.c_str(), MNT_DETACH);
  return rep.str();
}

TEST_F(ArtifactDownload, FullFilesystemIsAClearErrorAndLeavesNothing) {
  const std::string body = pattern(4 << 20, 'l');
  const std::string sha = sha_of(body, tmp_);
  server_->serve("/big", body);
  const std::string text =
      test::run_in_child([&] { return full_filesystem_scenario(state_, server_->url("/big"), sha); }, 60).text;
  EXPECT_NE(text.find("write_error=Image/big: downloading " + server_->url("/big") + ": writing " + state_ +
                      "/artifacts/tmp/" + sha + ".part: No space left on device (free space in the state dir, "
                      "or move it with --state-dir)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("files=0\n"), std::string::npos) << text;
  EXPECT_EQ(server_->requests("/big"), 1) << "a full disk is not retried";
}

}  // namespace
}  // namespace banger
