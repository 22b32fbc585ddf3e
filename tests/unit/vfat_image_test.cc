// The NoCloud seed image, checked by the tools that will read it for real:
// fsck.fat for the structure, blkid for what cloud-init looks for (TYPE and
// LABEL, matched the way cloud-init 22.4 asks), mtools for the long names and
// the bytes, and, when the kernel has vfat and we are root, the kernel itself.
#include "drivers/vfat_image.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace banger {
namespace {

namespace fs = std::filesystem;

struct Ran {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Ran run(const std::string& cmd) {
  Ran r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "vfat_image_test.XXXXXX").string();
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// Bytes that do not repeat with any cluster-sized period, and every byte value.
std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>(seed >> 16);
  }
  return s;
}

std::vector<VfatFile> seed_files() {
  return {
      {"meta-data", "instance-id: iid-web-1\nlocal-hostname: web-1\n"},
      {"user-data", "#cloud-config\n" + std::string(10 * 1024, 'u') + "\nend\n"},  // 21 clusters
      {"network-config", ""},
  };
}

// The image written to a temp file, for the tools.
struct ImageFile {
  TempDir dir;
  std::string path;
  explicit ImageFile(const std::string& bytes) : path(dir.file("seed.img")) {
    write_file(path, bytes);
  }
};

// fsck.fat -n prints its version and one summary line, nothing else, when it
// finds nothing wrong (and exits 0).
void expect_fsck_clean(const std::string& path, size_t files) {
  Ran r = run("fsck.fat -n " + sh_quote(path));
  EXPECT_EQ(r.rc, 0) << r.out;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u) << r.out;
  EXPECT_EQ(l[0].rfind("fsck.fat ", 0), 0u) << r.out;
  // "PATH: N files, USED/TOTAL clusters"; it counts the volume label as a file.
  std::string head = path + ": " + std::to_string(files + 1) + " files, ";
  ASSERT_EQ(l[1].rfind(head, 0), 0u) << r.out;
  std::string rest = l[1].substr(head.size());
  size_t slash = rest.find('/'), space = rest.find(' ');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  ASSERT_TRUE(slash != std::string::npos && space != std::string::npos && slash < space) << r.out;
  EXPECT_TRUE(digits(rest.substr(0, slash)) && digits(rest.substr(slash + 1, space - slash - 1)) &&
              rest.substr(space) == " clusters")
      << r.out;
}

std::string mtype(const std::string& path, const std::string& name) {
  Ran r = run("mtype -i " + sh_quote(path) + " " + sh_quote("::" + name));
  EXPECT_EQ(r.rc, 0) << r.out;
  return r.out;
}

std::vector<std::string> mdir_bare(const std::string& path) {
  Ran r = run("mdir -i " + sh_quote(path) + " -b ::");
  EXPECT_EQ(r.rc, 0) << r.out;
  return lines(r.out);
}

std::vector<std::string> listed(const std::vector<VfatFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back("::/" + f.name);
  return out;
}

uint16_t le16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}

// The 8.3 names of the root directory's file entries (not label, not LFN),
// read straight from the bytes by the boot sector's numbers.
std::vector<std::string> short_names(const std::string& img) {
  size_t sector = le16(img, 11);
  size_t root = (le16(img, 14) + static_cast<uint8_t>(img[16]) * le16(img, 22)) * sector;
  std::vector<std::string> out;
  for (size_t at = root; at < root + le16(img, 17) * 32u && img[at] != 0; at += 32) {
    uint8_t attr = static_cast<uint8_t>(img[at + 11]);
    if (attr == 0x0F || (attr & 0x08)) continue;
    std::string base = img.substr(at, 8), ext = img.substr(at + 8, 3);
    base.erase(base.find_last_not_of(' ') + 1);
    ext.erase(ext.find_last_not_of(' ') + 1);
    out.push_back(ext.empty() ? base : base + "." + ext);
  }
  return out;
}

// ------------------------------------------------------------ the seed itself

TEST(VfatImage, FsckFindsNothingWrong) {
  ImageFile img(make_vfat_image("cidata", seed_files()));
  expect_fsck_clean(img.path, 3);
}

TEST(VfatImage, IsFat12OfAtLeastOneMebibyte) {
  std::string bytes = make_vfat_image("cidata", seed_files());
  EXPECT_GE(bytes.size(), 1u << 20);
  EXPECT_EQ(bytes.size() % 512, 0u);
  ImageFile img(bytes);
  Ran r = run("blkid -p -o export " + sh_quote(img.path));
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("\nVERSION=FAT12\n"), std::string::npos) << r.out;
}

TEST(VfatImage, BlkidSeesVfatWithTheLabel) {
  ImageFile img(make_vfat_image("cidata", seed_files()));
  Ran r = run("blkid -o export " + sh_quote(img.path));
  EXPECT_EQ(r.rc, 0) << r.out;
  std::set<std::string> tags;
  for (const auto& l : lines(r.out)) tags.insert(l);
  EXPECT_TRUE(tags.count("TYPE=vfat")) << r.out;
  EXPECT_TRUE(tags.count("LABEL=cidata")) << r.out;          // root directory entry
  EXPECT_TRUE(tags.count("LABEL_FATBOOT=cidata")) << r.out;  // boot sector
}

// cloud-init 22.4 (DataSourceNoCloud._get_devices) runs, with no cache,
// blkid -tTYPE=vfat -odevice and blkid -tLABEL=cidata / CIDATA -odevice.
TEST(VfatImage, FoundTheWayCloudInitLooks) {
  ImageFile img(make_vfat_image("cidata", seed_files()));
  for (std::string token : {"TYPE=vfat", "LABEL=cidata", "LABEL_FATBOOT=cidata"}) {
    Ran r = run("blkid -c /dev/null -t" + token + " -odevice " + sh_quote(img.path));
    EXPECT_EQ(r.rc, 0) << token << ": " << r.out;
    EXPECT_EQ(r.out, img.path + "\n") << token;
  }
  // The match is case sensitive: which is why the label is written as given.
  Ran r = run("blkid -c /dev/null -tLABEL=CIDATA -odevice " + sh_quote(img.path));
  EXPECT_NE(r.rc, 0) << r.out;
}

TEST(VfatImage, UpperCaseLabelStaysUpperCase) {
  ImageFile img(make_vfat_image("CIDATA", seed_files()));
  Ran r = run("blkid -c /dev/null -tLABEL=CIDATA -odevice " + sh_quote(img.path));
  EXPECT_EQ(r.out, img.path + "\n");
  expect_fsck_clean(img.path, 3);
}

TEST(VfatImage, MdirListsExactlyTheLongNames) {
  auto files = seed_files();
  ImageFile img(make_vfat_image("cidata", files));
  EXPECT_EQ(mdir_bare(img.path), listed(files));
}

TEST(VfatImage, ShortNamesAreUpperCaseAliases) {
  auto files = seed_files();
  files.push_back({"README.TXT", "a name that is 8.3 already needs no long name"});
  files.push_back({"notes.txt", "8.3 but for case"});
  files.push_back({"a b.c.d+e", "spaces, dots, a character 8.3 cannot hold"});
  files.push_back({".hidden", "leading dot"});
  std::string bytes = make_vfat_image("cidata", files);
  EXPECT_EQ(short_names(bytes), (std::vector<std::string>{"META-D~1", "USER-D~1", "NETWOR~1",
                                                          "README.TXT", "NOTES.TXT", "ABC~1.D_E",
                                                          "HIDDEN~1"}));
  ImageFile img(bytes);
  EXPECT_EQ(mdir_bare(img.path), listed(files));
  expect_fsck_clean(img.path, files.size());
}

// A name spelling out the alias another would get keeps it; the other moves.
TEST(VfatImage, ShortNamesNeverCollide) {
  std::vector<VfatFile> files = {
      {"user-data-1", "1"}, {"user-data-2", "2"}, {"USER-D~1", "3"}, {"user-d~3", "4"}};
  std::string bytes = make_vfat_image("cidata", files);
  EXPECT_EQ(short_names(bytes),
            (std::vector<std::string>{"USER-D~2", "USER-D~4", "USER-D~1", "USER-D~3"}));
  ImageFile img(bytes);
  EXPECT_EQ(mdir_bare(img.path), listed(files));
  for (const auto& f : files) EXPECT_EQ(mtype(img.path, f.name), f.content) << f.name;
  expect_fsck_clean(img.path, files.size());
}

TEST(VfatImage, MtypeReturnsTheExactBytes) {
  auto files = seed_files();
  files.push_back({"binary", pattern(4097, 7)});  // every byte value, crosses clusters
  files.push_back({"one-sector", std::string(512, 's')});
  ImageFile img(make_vfat_image("cidata", files));
  for (const auto& f : files) EXPECT_EQ(mtype(img.path, f.name), f.content) << f.name;
  EXPECT_EQ(mtype(img.path, "network-config"), "");
  expect_fsck_clean(img.path, files.size());
}

TEST(VfatImage, LongestNameRoundTrips) {
  std::string name = std::string(250, 'n') + ".yaml";  // 255: 20 long-name entries
  std::vector<VfatFile> files = {{name, "x"}, {"meta-data", "m"}};
  ImageFile img(make_vfat_image("cidata", files));
  EXPECT_EQ(mdir_bare(img.path), listed(files));
  EXPECT_EQ(mtype(img.path, name), "x");
  expect_fsck_clean(img.path, 2);
}

// Past 2 MiB the clusters grow so the count stays FAT12's.
TEST(VfatImage, LargestContentFits) {
  std::vector<VfatFile> files = {{"big", pattern(kVfatMaxContent - 100, 3)},
                                 {"small", std::string(100, 's')}};
  ImageFile img(make_vfat_image("cidata", files));
  EXPECT_EQ(mtype(img.path, "big"), files[0].content);
  EXPECT_EQ(mtype(img.path, "small"), files[1].content);
  expect_fsck_clean(img.path, 2);
  Ran r = run("blkid -p -o export " + sh_quote(img.path));
  EXPECT_NE(r.out.find("\nVERSION=FAT12\n"), std::string::npos) << r.out;
}

TEST(VfatImage, NoFilesIsAnEmptyLabelledVolume) {
  ImageFile img(make_vfat_image("cidata", {}));
  EXPECT_TRUE(mdir_bare(img.path).empty());
  expect_fsck_clean(img.path, 0);
}

// 1 label entry + 511 files with 8.3 names fill the 512-entry root exactly.
TEST(VfatImage, RootDirectoryFillsUpThenRefuses) {
  std::vector<VfatFile> files;
  for (int i = 0; i < 511; ++i) files.push_back({"F" + std::to_string(i), ""});
  ImageFile img(make_vfat_image("cidata", files));
  EXPECT_EQ(mdir_bare(img.path).size(), 511u);
  expect_fsck_clean(img.path, 511);
  files.push_back({"F511", ""});
  EXPECT_THROW(make_vfat_image("cidata", files), std::invalid_argument);
  // A long name takes 1 entry per 13 characters on top.
  files.resize(509);
  files.push_back({"fourteen-chars", ""});  // 3 entries: 1 + 509 + 3 = 513
  EXPECT_THROW(make_vfat_image("cidata", files), std::invalid_argument);
}

// ------------------------------------------------------------ determinism

TEST(VfatImage, SameInputsSameBytes) {
  EXPECT_EQ(make_vfat_image("cidata", seed_files()), make_vfat_image("cidata", seed_files()));
  auto other = seed_files();
  other[0].content = "instance-id: iid-web-2\n";
  std::string a = make_vfat_image("cidata", seed_files()), b = make_vfat_image("cidata", other);
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(39, 4), b.substr(39, 4)) << "volume id should follow the content";
}

// ------------------------------------------------------------ refused inputs

TEST(VfatImage, RejectsBadNames) {
  for (std::string bad : {std::string(), std::string(256, 'a'), std::string("a/b"),
                          std::string("a\0b", 3), std::string("a:b"), std::string("a\\b"),
                          std::string("a*"), std::string("tab\tname"), std::string("caf\xc3\xa9"),
                          std::string("trailing."), std::string("trailing "), std::string(".."),
                          std::string(".")}) {
    std::vector<VfatFile> files = {{"meta-data", ""}, {bad, "x"}};
    EXPECT_THROW(make_vfat_image("cidata", files), std::invalid_argument) << bad;
  }
  // The message names the offender.
  try {
    make_vfat_image("cidata", {{"a/b", ""}});
    FAIL() << "a/b accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"a/b\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find('/'), std::string::npos) << e.what();
  }
}

TEST(VfatImage, RejectsNamesEqualButForCase) {
  try {
    make_vfat_image("cidata", {{"user-data", "a"}, {"User-Data", "b"}});
    FAIL() << "duplicate accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("User-Data"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_vfat_image("cidata", {{"x", ""}, {"x", ""}}), std::invalid_argument);
}

TEST(VfatImage, RejectsBadLabels) {
  for (std::string bad : {"", "twelve-chars", "ci.data", "a/b", "a*", " cidata", "NO NAME",
                          "no name", "ci\tdata", "caf\xc3\xa9"}) {
    EXPECT_THROW(make_vfat_image(bad, seed_files()), std::invalid_argument) << bad;
  }
  EXPECT_NO_THROW(make_vfat_image("ELEVEN-CHAR", seed_files()));
}

TEST(VfatImage, RejectsTooMuchContent) {
  std::vector<VfatFile> files = {{"a", std::string(kVfatMaxContent / 2, 'a')},
                                 {"b", std::string(kVfatMaxContent / 2 + 1, 'b')}};
  try {
    make_vfat_image("cidata", files);
    FAIL() << "too much accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(kVfatMaxContent + 1)), std::string::npos)
        << e.what();
  }
}

// ------------------------------------------------------------ the kernel

bool kernel_has_vfat() {
  auto has = [] {
    std::ifstream in("/proc/filesystems");
    for (std::string l; std::getline(in, l);) {
      if (l.size() >= 5 && l.compare(l.size() - 5, 5, "\tvfat") == 0) return true;
    }
    return false;
  };
  if (has()) return true;
  run("modprobe -q vfat");
  return has();
}

// Detached however the test ends.
struct LoopAttach {
  std::string dev;
  ~LoopAttach() {
    if (!dev.empty()) run("losetup -d " + sh_quote(dev));
  }
};

TEST(VfatImage, KernelMountsItAndSeesTheFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to attach a loop device and mount";
  if (!kernel_has_vfat()) GTEST_SKIP() << "this kernel has no vfat and `modprobe vfat` failed";

  auto files = seed_files();
  files.push_back({"binary", pattern(3000, 11)});
  ImageFile img(make_vfat_image("cidata", files));
  TempDir work;
  fs::create_directory(work.file("mnt"));
  fs::create_directory(work.file("want"));
  for (const auto& f : files) write_file(work.file("want/" + f.name), f.content);

  LoopAttach loop;
  Ran attach = run("losetup -r -f --show " + sh_quote(img.path));
  if (attach.rc != 0) GTEST_SKIP() << "cannot attach a loop device: " << attach.out;
  loop.dev = attach.out.substr(0, attach.out.find('\n'));

  // Mounted in a private mount namespace: gone with the process, whatever
  // happens; unmounted explicitly too.
  std::string script = R"(
    dev=$1 mnt=$2 want=$3; shift 3
    mount -t vfat -o ro "$dev" "$mnt" || exit 90
    LC_ALL=C ls -1A "$mnt"
    for f in "$@"; do
      if cmp -s "$mnt/$f" "$want/$f"; then echo "same $f"; else echo "differs $f"; fi
    done
    umount "$mnt")";
  std::string cmd = "unshare -m --propagation private sh -c " + sh_quote(script) + " sh " +
                    sh_quote(loop.dev) + " " + sh_quote(work.file("mnt")) + " " +
                    sh_quote(work.file("want"));
  std::set<std::string> names;
  for (const auto& f : files) {
    cmd += " " + sh_quote(f.name);
    names.insert(f.name);  // ls -1A under LC_ALL=C: byte order, as std::set
  }
  Ran r = run(cmd);
  ASSERT_EQ(r.rc, 0) << r.out;
  std::vector<std::string> want(names.begin(), names.end());
  for (const auto& f : files) want.push_back("same " + f.name);
  EXPECT_EQ(lines(r.out), want) << r.out;
}

}  // namespace
}  // namespace banger
