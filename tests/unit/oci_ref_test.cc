#include <gtest/gtest.h>

#include "resources/oci_ref.h"

namespace banger {
namespace {

OciRef ok(std::string_view text) {
  std::string why;
  auto r = parse_oci_ref(text, why);
  EXPECT_TRUE(r) << text << ": " << why;
  return r.value_or(OciRef{});
}

std::string bad(std::string_view text) {
  std::string why;
  auto r = parse_oci_ref(text, why);
  EXPECT_FALSE(r) << text << " was accepted as " << (r ? r->str() : "");
  return why;
}

TEST(OciRef, DockerHubDefaultsAsDockerPullHasThem) {
  EXPECT_EQ(ok("debian"), (OciRef{"docker.io", "library/debian", "latest", ""}));
  EXPECT_EQ(ok("debian:12"), (OciRef{"docker.io", "library/debian", "12", ""}));
  EXPECT_EQ(ok("docker.io/library/debian:12"), (OciRef{"docker.io", "library/debian", "12", ""}));
  EXPECT_EQ(ok("index.docker.io/team/app"), (OciRef{"docker.io", "team/app", "latest", ""}));
  EXPECT_EQ(ok("team/app:v1.2_rc-3"), (OciRef{"docker.io", "team/app", "v1.2_rc-3", ""}));
  EXPECT_EQ(ok("debian").api_host(), "registry-1.docker.io");
  EXPECT_EQ(ok("debian:12").str(), "docker.io/library/debian:12");
}

TEST(OciRef, RegistryIsTheFirstPartWhenItLooksLikeAHost) {
  EXPECT_EQ(ok("127.0.0.1:5000/img/base:1"), (OciRef{"127.0.0.1:5000", "img/base", "1", ""}));
  EXPECT_EQ(ok("localhost/app"), (OciRef{"localhost", "app", "latest", ""}));
  EXPECT_EQ(ok("localhost:5000/app"), (OciRef{"localhost:5000", "app", "latest", ""}));
  EXPECT_EQ(ok("ghcr.io/o/r/deep/name:t"), (OciRef{"ghcr.io", "o/r/deep/name", "t", ""}));
  EXPECT_EQ(ok("[::1]:5000/app:t"), (OciRef{"[::1]:5000", "app", "t", ""}));
  // "team" has neither '.' nor ':': a Docker Hub namespace, not a host.
  EXPECT_EQ(ok("team/app").registry, "docker.io");
  EXPECT_EQ(ok("127.0.0.1:5000/app").api_host(), "127.0.0.1:5000");
}

TEST(OciRef, DigestPinsWithOrWithoutATag) {
  const std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(ok("app@" + d), (OciRef{"docker.io", "library/app", "", d}));
  EXPECT_EQ(ok("r.io:443/app:1@" + d), (OciRef{"r.io:443", "app", "1", d}));
  EXPECT_EQ(ok("app@" + d).reference(), d);
  EXPECT_EQ(ok("app:1").reference(), "1");
  EXPECT_NE(bad("app@sha256:abc").find("64 lowercase hex"), std::string::npos);
  bad("app@sha512:" + std::string(128, 'a'));
  bad("app@sha256:" + std::string(64, 'A'));
}

TEST(OciRef, RefusesWithAReason) {
  EXPECT_EQ(bad(""), "is empty");
  EXPECT_NE(bad("Debian").find("must be lowercase"), std::string::npos);
  EXPECT_NE(bad("app:").find("the tag \"\""), std::string::npos);
  EXPECT_NE(bad("app:-x").find("tag"), std::string::npos);
  EXPECT_NE(bad("app:" + std::string(129, 'a')).find("tag"), std::string::npos);
  EXPECT_NE(bad("a..b").find("repository"), std::string::npos);
  bad("app/");
  bad("/app");
  bad("a//b");
  bad("-app");
  bad("app-");
  bad("ex ample.com/app");
  EXPECT_NE(bad("-bad.io/app").find("registry"), std::string::npos);
  bad("bad.io:/app");
  bad("bad.io:x/app:1");
  EXPECT_NE(bad("r.io/" + std::string(260, 'a')).find("255"), std::string::npos);
  // Separators as distribution/reference allows them.
  ok("org/a.b_c__d---e");
  bad("a___b");
}

TEST(OciPlatform, OsArchitectureAndAnOptionalVariant) {
  std::string why;
  EXPECT_EQ(parse_oci_platform("linux/amd64", why), (OciPlatform{"linux", "amd64", ""}));
  EXPECT_EQ(parse_oci_platform("linux/arm64/v8", why), (OciPlatform{"linux", "arm64", "v8"}));
  EXPECT_EQ(parse_oci_platform("linux/arm64/v8", why)->str(), "linux/arm64/v8");
  for (const char* b : {"linux", "linux/", "/amd64", "linux/amd64/", "linux/amd64/v8/x", "Linux/amd64", "linux amd64"}) {
    EXPECT_FALSE(parse_oci_platform(b, why)) << b;
    EXPECT_NE(why.find("os/architecture"), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace banger
