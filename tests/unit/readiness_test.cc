// The pure parts of readiness: the HTTP status line and the recorded
// readiness field read back into a probe.
#include <gtest/gtest.h>

#include "drivers/probe.h"
#include "reconciler/readiness.h"
#include "resources/readiness_text.h"

namespace banger {
namespace {

TEST(HttpStatus, ParsesCompleteStatusLines) {
  EXPECT_EQ(parse_http_status("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parse_http_status("HTTP/1.0 404 Not Found\r\nServer: x\r\n"), 404);
  EXPECT_EQ(parse_http_status("HTTP/1.1 302 Found\n"), 302);
}

TEST(HttpStatus, WaitsForMoreOfAnIncompleteLine) {
  EXPECT_EQ(parse_http_status(""), 0);
  EXPECT_EQ(parse_http_status("HT"), 0);
  EXPECT_EQ(parse_http_status("HTTP/1.1 20"), 0);
}

TEST(HttpStatus, RejectsWhatIsNotHttp) {
  EXPECT_EQ(parse_http_status("SSH-2.0-OpenSSH\r\n"), -1);
  EXPECT_EQ(parse_http_status("HTTP/1.1 2x0 OK\r\n"), -1);
  EXPECT_EQ(parse_http_status("HTTP/1.1\r\n"), -1);
  EXPECT_EQ(parse_http_status("HTTP/1.1 099 Odd\r\n"), -1);
  EXPECT_EQ(parse_http_status("HTTP/" + std::string(300, 'x')), -1);
}

TEST(ReadinessField, ReadsBackWhatDesiredStateRecords) {
  auto tcp = parse_readiness("tcp:22 timeout 30s");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->probe, Readiness::Probe::Tcp);
  EXPECT_EQ(tcp->port, 22);
  EXPECT_EQ(tcp->timeout, std::chrono::seconds(30));

  auto http = parse_readiness("http:8080/healthz?full=1 timeout 2m");
  ASSERT_TRUE(http);
  EXPECT_EQ(http->probe, Readiness::Probe::Http);
  EXPECT_EQ(http->port, 8080);
  EXPECT_EQ(http->path, "/healthz?full=1");
  EXPECT_EQ(http->timeout, std::chrono::minutes(2));

  auto root = parse_readiness("http:80/ timeout 1m30s");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->path, "/");
  EXPECT_EQ(root->timeout, std::chrono::seconds(90));
}

TEST(ReadinessField, NoneAndGarbageMeanNoProbe) {
  EXPECT_FALSE(parse_readiness("none"));
  EXPECT_FALSE(parse_readiness(""));
  EXPECT_FALSE(parse_readiness("udp:53 timeout 1s"));
  EXPECT_FALSE(parse_readiness("tcp: timeout 1s"));
  EXPECT_FALSE(parse_readiness("tcp:70000 timeout 1s"));
  EXPECT_FALSE(parse_readiness("tcp:22 timeout soon"));
}

TEST(ReadinessTarget, ProbesTheGuestIpWithTheRecordedProbe) {
  ResourceRecord vm{"VM", "web", "h", 1, "/m/web.yaml", 0,
                    R"({"readiness":"http:80/health timeout 5s","state":"running"})"};
  VmRecord rec{"web", "demo", "10.88.0.10", "06:00:0a:58:00:0a", "bg-1", "/d"};
  VmRuntime rt{"web", 4242, 77, "/usr/bin/qemu-system-x86_64", "", "/run/web/console.log", "qemu", 1};
  ReadyTarget t = ready_target(vm, &rec, &rt);
  ASSERT_TRUE(t.probe);
  EXPECT_EQ(describe(*t.probe), "http://10.88.0.10:80/health");
  ASSERT_TRUE(t.process);
  EXPECT_EQ(t.process->pid, 4242);
  EXPECT_EQ(t.log_path, "/run/web/console.log");
  EXPECT_EQ(t.readiness.timeout, std::chrono::seconds(5));

  ResourceRecord plain{"VM", "db", "h", 1, "/m/db.yaml", 0, R"({"readiness":"none"})"};
  ReadyTarget p = ready_target(plain, &rec, nullptr);
  EXPECT_FALSE(p.probe);
  EXPECT_FALSE(p.process);
}

TEST(ReadinessCheck, AVmWithoutAProcessIsNotReady) {
  ReadyTarget t;
  t.vm = "gone";
  auto s = check_ready({t}, std::chrono::milliseconds(100));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_FALSE(s[0].ready);
  EXPECT_EQ(s[0].detail, "process not running");
}

}  // namespace
}  // namespace banger
