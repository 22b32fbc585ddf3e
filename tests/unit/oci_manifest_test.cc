#include <gtest/gtest.h>

#include "drivers/oci_manifest.h"

namespace banger {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

std::string manifest(const std::string& layer_media = "application/vnd.oci.image.layer.v1.tar+gzip") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kA + R"(","size":123},
    "layers":[{"mediaType":")" + layer_media + R"(","digest":")" + kB + R"(","size":1000},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" + kC + R"(","size":20}]})";
}

std::string index() {
  return R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kA + R"(","size":500,
     "platform":{"architecture":"arm","os":"linux","variant":"v7"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kB + R"(","size":501,
     "platform":{"architecture":"unknown","os":"unknown"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kC + R"(","size":502,
     "platform":{"architecture":"amd64","os":"linux"}}]})";
}

TEST(OciManifest, ReadsConfigAndLayersBottomFirst) {
  std::string why;
  auto d = parse_oci_document(manifest(), "application/vnd.oci.image.manifest.v1+json", why);
  ASSERT_TRUE(d) << why;
  EXPECT_FALSE(d->is_index);
  EXPECT_EQ(d->config.digest, kA);
  EXPECT_EQ(d->config.size, 123u);
  ASSERT_EQ(d->layers.size(), 2u);
  EXPECT_EQ(d->layers[0].digest, kB);
  EXPECT_EQ(layer_compression(d->layers[0].media_type), LayerCompression::Gzip);
  EXPECT_EQ(layer_compression(d->layers[1].media_type), LayerCompression::Zstd);
  // The Docker media type, and a document typed only by its own field.
  EXPECT_TRUE(parse_oci_document(manifest("application/vnd.docker.image.rootfs.diff.tar.gzip"),
                                 "application/vnd.docker.distribution.manifest.v2+json", why));
  EXPECT_TRUE(parse_oci_document(manifest(), "application/json; charset=utf-8", why)) << why;
  EXPECT_TRUE(parse_oci_document(manifest(), "", why)) << why;
}

TEST(OciManifest, AnIndexSelectsThePlatform) {
  std::string why;
  auto d = parse_oci_document(index(), "application/vnd.oci.image.index.v1+json", why);
  ASSERT_TRUE(d) << why;
  ASSERT_TRUE(d->is_index);
  auto amd = select_platform(*d, {"linux", "amd64", ""}, why);
  ASSERT_TRUE(amd) << why;
  EXPECT_EQ(amd->digest, kC);
  auto arm = select_platform(*d, {"linux", "arm", "v7"}, why);
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, kA);
  EXPECT_FALSE(select_platform(*d, {"linux", "arm", "v6"}, why));
  EXPECT_EQ(why, "has no image for platform linux/arm/v6 (it has: linux/arm/v7, linux/amd64)");
  EXPECT_FALSE(select_platform(*d, {"linux", "riscv64", ""}, why));
  // A Docker manifest list by its Content-Type, and an index without mediaType anywhere.
  EXPECT_TRUE(parse_oci_document(index(), "application/vnd.docker.distribution.manifest.list.v2+json", why)->is_index);
  EXPECT_TRUE(parse_oci_document(index(), "", why)->is_index);
}

TEST(OciManifest, RefusesWhatItCannotPull) {
  std::string why;
  EXPECT_FALSE(parse_oci_document("not json", "", why));
  EXPECT_EQ(why, "is not a JSON object");
  EXPECT_FALSE(parse_oci_document(R"({"schemaVersion":1,"fsLayers":[]})", "", why));
  EXPECT_NE(why.find("schema 1"), std::string::npos) << why;
  EXPECT_FALSE(parse_oci_document(manifest("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"), "", why));
  EXPECT_NE(why.find("layers[0] has media type"), std::string::npos) << why;
  std::string bad_digest = manifest();
  bad_digest.replace(bad_digest.find(kB), kB.size(), "sha256:xyz");
  EXPECT_FALSE(parse_oci_document(bad_digest, "", why));
  EXPECT_EQ(why, "layers[0] has no sha256 digest");
  std::string no_size = manifest();
  no_size.replace(no_size.find("\"size\":1000"), 11, "\"size\":-1");
  EXPECT_FALSE(parse_oci_document(no_size, "", why));
  EXPECT_EQ(why, "layers[0] has no size");
  EXPECT_FALSE(parse_oci_document(manifest(), "application/vnd.oci.image.config.v1+json", why));
  EXPECT_NE(why.find("neither an image manifest nor an index"), std::string::npos);
  EXPECT_FALSE(is_sha256_digest("sha256:" + std::string(64, 'A')));
  EXPECT_TRUE(is_sha256_digest(kA));
}

}  // namespace
}  // namespace banger
