// The command-line contract of `banger` and `banger validate` (DESIGN.md
// section 6, issue 3): exit codes, where output goes, kubectl-style mistakes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "run_command.h"

namespace fs = std::filesystem;
using banger::test::run_banger;
using banger::test::run_command;
using banger::test::TempDir;

namespace {

const std::string kVm = R"(apiVersion: banger.dev/v1
kind: Kernel
metadata: {name: k}
spec: {path: /boot/vmlinuz}
---
apiVersion: banger.dev/v1
kind: Image
metadata: {name: i}
spec: {path: /srv/root.ext4}
---
apiVersion: banger.dev/v1
kind: VM
metadata: {name: web}
spec: {kernel: k, image: i}
)";

std::string examples() { return std::string(BANGER_SOURCE_DIR) + "/examples/manifests"; }

TEST(Cli, VersionAndHelpExitZero) {
  auto v = run_banger({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("banger version ", 0), 0u) << v.out;
  auto h = run_banger({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("validate"), std::string::npos);
  EXPECT_NE(h.out.find("--state-dir"), std::string::npos);
  auto vh = run_banger({"validate", "--help"});
  EXPECT_EQ(vh.exit_code, 0);
  EXPECT_NE(vh.out.find("-f,--filename"), std::string::npos);
}

// Start-up cost: the libraries only host changes need (libcurl, libnftables,
// libdevmapper, libcrypto and the 38 they pull in) are opened on first use,
// never by a command that does not change the host (src/common/lazy_lib.h).
TEST(Cli, ValidateLoadsNoHostLibrary) {
  TempDir dir;
  const std::string file = dir.write("vm.yaml",
                                     "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\n"
                                     "spec: {path: /boot/vmlinuz}\n");
  auto r = run_command({"/usr/bin/env", "LD_DEBUG=libs", BANGER_BIN, "validate", "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("libyaml-cpp"), std::string::npos) << "LD_DEBUG printed nothing?";
  for (const char* lib : {"libcurl", "libnftables", "libdevmapper", "libcrypto", "libgnutls"}) {
    EXPECT_EQ(r.err.find(lib), std::string::npos) << lib << " was loaded";
  }
}

TEST(Cli, UnknownCommandIsAnErrorWithAHint) {
  auto r = run_banger({"valdate", "-f", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown command \"valdate\" for \"banger\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Did you mean this?\n\tvalidate"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, UnknownFlagIsAnErrorWithAHint) {
  auto r = run_banger({"validate", "--bogus", "-f", examples()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: unknown flag: --bogus\nSee 'banger validate --help' for usage.\n");
}

TEST(Cli, MissingFilenameIsAnError) {
  auto r = run_banger({"validate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("must specify at least one -f PATH"), std::string::npos) << r.err;
}

TEST(Cli, EachFilenameTakesOneValue) {
  auto r = run_banger({"validate", "-f", examples(), "stray"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unexpected argument \"stray\""), std::string::npos) << r.err;
}

TEST(Cli, BadOutputFormatIsAnError) {
  auto r = run_banger({"validate", "-f", examples(), "-o", "xml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--output"), std::string::npos) << r.err;
}

TEST(Cli, GlobalFlagsWorkBeforeAndAfterTheCommand) {
  TempDir d;
  std::string state = d.path() + "/state";
  auto before = run_banger({"--state-dir", state, "-q", "validate", "-f", examples()});
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_TRUE(before.out.empty()) << "quiet prints nothing on success";
  auto after = run_banger({"validate", "-f", examples(), "--state-dir", state, "--log-level", "debug"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  // validate never touches the host: not even the state dir is created.
  EXPECT_FALSE(fs::exists(state));
}

TEST(Validate, ExamplesAreValid) {
  auto r = run_banger({"validate", "-f", examples()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "valid: 1 Network, 2 Kernels, 2 Images, 4 VMs, 3 PortForwards\n");
  EXPECT_TRUE(r.err.empty());
}

TEST(Validate, VerboseListsEveryResource) {
  auto r = run_banger({"validate", "-v", "-f", examples()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* a : {"Network/fleet", "Network/default", "Kernel/debian-12", "Image/busybox-web",
                        "VM/web-1", "VM/web-2", "VM/worker", "PortForward/web-1-http",
                        "PortForward/web-2-http", "PortForward/worker-ssh"}) {
    EXPECT_NE(r.out.find(a), std::string::npos) << a;
  }
}

TEST(Validate, ReadsStandardInput) {
  auto ok = run_banger({"validate", "-f", "-"}, kVm);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "valid: 1 Kernel, 1 Image, 1 VM\n");
  auto bad = run_banger({"validate", "-f", "-"}, kVm + "  vcpus: 0\n");
  // "spec: {kernel: k, image: i}" then an indented key is a YAML error at line 15.
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err.rfind("<stdin>:", 0), 0u) << bad.err;
}

TEST(Validate, JsonOutputIsAnArrayOnStdout) {
  TempDir d;
  std::string f = d.write("vm.yaml", kVm + "---\napiVersion: banger.dev/v1\nkind: VM\n"
                                           "metadata: {name: db}\nspec: {kernel: k, image: i, vcpus: 99}\n");
  auto bad = run_banger({"validate", "-o", "json", "-f", f});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out,
            "[\n  {\n    \"file\": \"" + f +
                "\",\n    \"line\": 19,\n    \"column\": 36,\n    \"kind\": \"VM\",\n"
                "    \"name\": \"db\",\n    \"field\": \"spec.vcpus\",\n    \"message\": \"99 is "
                "out of range (expected an integer from 1 to 32)\"\n  }\n]\n");
  auto good = run_banger({"validate", "-o", "json", "-f", examples()});
  EXPECT_EQ(good.exit_code, 0);
  EXPECT_EQ(good.out, "[]\n");
}

TEST(Validate, AllErrorsAtOnceSortedByFileAndPosition) {
  TempDir d;
  d.write("b.yaml", "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: n}\n"
                    "spec: {subnet: 10.0.0.0/8, nat: maybe}\n");
  d.write("a.yaml", "apiVersion: banger.dev/v2\nkind: Vm\nmetadata: {name: Bad_Name}\n");
  auto r = run_banger({"validate", "-f", d.path()});
  EXPECT_EQ(r.exit_code, 1);
  std::string a = d.path() + "/a.yaml", b = d.path() + "/b.yaml";
  EXPECT_EQ(r.err,
            a + ":1:13: apiVersion: \"banger.dev/v2\" is not supported (expected banger.dev/v1)\n" +
            a + ":2:7: kind: \"Vm\" is not a banger kind (expected one of: Network, Kernel, Image, VM, "
                "PortForward, Node; did you mean \"VM\"?)\n" +
            a + ":3:18: metadata.name: \"Bad_Name\" is not a valid name (expected a DNS-1123 label: at "
                "most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)\n" +
            b + ":4:16: Network/n: spec.subnet: \"10.0.0.0/8\" has a /8 prefix (expected an IPv4 CIDR "
                "from /16 to /29 such as 10.0.0.0/24)\n" +
            b + ":4:33: Network/n: spec.nat: \"maybe\" is a string (expected true or false)\n");
}

TEST(Validate, FoldersAreRecursiveSortedAndSkipHiddenEntries) {
  TempDir d;
  d.write("z/vm.yaml", kVm);
  d.write("a/net.yml", "apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: lab}\n"
                       "spec: {subnet: 10.9.0.0/24}\n");
  d.write(".github/workflows/ci.yml", "on: push\njobs: {}\n");  // not a manifest
  d.write(".hidden.yaml", "garbage: [");
  d.write("notes.txt", "not yaml at all: [");
  auto r = run_banger({"validate", "-f", d.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "valid: 1 Network, 1 Kernel, 1 Image, 1 VM\n");
}

TEST(Validate, SameFileTwiceIsReadOnce) {
  auto r = run_banger({"validate", "-f", examples(), "-f", examples() + "/vms/web.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Validate, MissingPathsAndEmptyInputsAreClearErrors) {
  TempDir d;
  fs::create_directories(d.path() + "/empty");
  std::string none = d.path() + "/nope.yaml";
  auto missing = run_banger({"validate", "-f", none});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, none + ": no such file or folder\n");
  auto empty_dir = run_banger({"validate", "-f", d.path() + "/empty"});
  EXPECT_EQ(empty_dir.exit_code, 1);
  EXPECT_EQ(empty_dir.err,
            d.path() + "/empty: folder has no manifests (expected *.yaml or *.yml files)\n");
  std::string empty = d.write("empty.yaml", "# nothing here yet\n");
  auto empty_file = run_banger({"validate", "-f", empty});
  EXPECT_EQ(empty_file.exit_code, 1);
  EXPECT_NE(empty_file.err.find("file has no documents"), std::string::npos) << empty_file.err;
  auto empty_stdin = run_banger({"validate", "-f", "-"}, "");
  EXPECT_EQ(empty_stdin.exit_code, 1);
  EXPECT_NE(empty_stdin.err.find("<stdin>: file has no documents"), std::string::npos);
}

}  // namespace
