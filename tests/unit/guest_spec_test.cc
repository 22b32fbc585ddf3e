// spec.guest: how it is read and refused, how plans show it, and the
// NoCloud files built from it.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "reconciler/desired_state.h"
#include "reconciler/guest_seed.h"
#include "resources/fields_guest.h"
#include "resources/guest_files.h"
#include "resources/manifest_loader.h"

namespace banger {
namespace {

namespace fs = std::filesystem;

const std::string kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDxZAcLiX2Ak+zmB7+dyxn3iGeTDrz9i27gQOvfTLHM2 alice@laptop";

std::string manifest(const std::string& guest) {
  return "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: vmlinuz}\n---\n"
         "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: img}\nspec: {path: root.ext4}\n---\n"
         "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: web}\nspec:\n  kernel: k\n  image: img\n" +
         guest;
}

LoadResult load(const std::string& text, const std::string& dir = "/m") {
  LoadResult r = load_texts({SourceText{dir + "/m.yaml", dir, text}});
  load_guest_files(r.set, r.diags);
  return r;
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diags.sorted()) out += d.format() + "\n";
  return out;
}

TEST(GuestSpec, AbsentMeansNameAsHostnameRootAndNothingShown) {
  LoadResult r = load(manifest(""));
  ASSERT_TRUE(r.ok()) << errors(r);
  const VM& vm = r.set.vms.at(0);
  EXPECT_FALSE(vm.guest.set);
  EXPECT_EQ(vm.hostname(), "web");
  EXPECT_EQ(vm.ssh_user(), "root");
  // A record from before spec.guest existed compares equal.
  for (const auto& [name, value] : vm_fields().render(vm, r.set)) {
    EXPECT_NE(name, "hostname");
    EXPECT_NE(name, "sshKeys");
    EXPECT_NE(name, "inject");
  }
}

TEST(GuestSpec, ReadsEveryFieldAndShowsKeysByNameAndHash) {
  LoadResult r = load(manifest("  guest:\n    hostname: web.example\n    ssh:\n      user: debian\n"
                               "      authorizedKeys: ['" + kKey + "']\n    userData: \"#cloud-config\\npackages: [htop]\\n\"\n"
                               "    inject: cloud-init\n"));
  ASSERT_TRUE(r.ok()) << errors(r);
  const VM& vm = r.set.vms.at(0);
  EXPECT_EQ(vm.hostname(), "web.example");
  EXPECT_EQ(vm.ssh_user(), "debian");
  ASSERT_EQ(vm.guest.keys().size(), 1u);
  EXPECT_EQ(vm.guest.keys()[0], kKey);
  EXPECT_EQ(vm.guest.inject.value, GuestInject::CloudInit);
  std::map<std::string, std::string> shown;
  for (const auto& [name, value] : vm_fields().render(vm, r.set)) shown[name] = value;
  EXPECT_EQ(shown["hostname"], "web.example");
  EXPECT_EQ(shown["sshUser"], "debian");
  EXPECT_EQ(shown["sshKeys"].rfind("alice@laptop (1 key, #", 0), 0u) << shown["sshKeys"];
  EXPECT_EQ(shown["inject"], "cloud-init");
  EXPECT_EQ(vm_fields().effect("sshKeys"), FieldEffect::Restart);
  // The hostname is also what the kernel's ip= names.
  EXPECT_NE(boot_args(r.set.kernels.at(0), vm, Ipv4{0x0a000002}, Cidr{Ipv4{0x0a000000}, 24}).find(":web.example:eth0:off"),
            std::string::npos);
}

TEST(GuestSpec, BadValuesAreRefusedWithFieldAndLine) {
  LoadResult r = load(manifest("  guest:\n    hostname: Web_1\n    ssh:\n      user: Bob\n"
                               "      authorizedKeys:\n        - ssh-ed25519 AAAAnotbase64!!\n"
                               "    userData: just text\n    inject: sometimes\n    extra: 1\n"));
  std::string e = errors(r);
  EXPECT_NE(e.find("m.yaml:18:15: VM/web: spec.guest.hostname: \"Web_1\" is not a host name"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.guest.ssh.user: \"Bob\" is not a user name"), std::string::npos) << e;
  EXPECT_NE(e.find("m.yaml:22:11: VM/web: spec.guest.ssh.authorizedKeys[0]:"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.guest.userData: does not start with #cloud-config"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.guest.inject"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.guest.extra"), std::string::npos) << e;
}

TEST(GuestSpec, KeyFilesAreReadRelativeToTheManifestAndCheckedByLine) {
  char tmpl[] = "/tmp/banger-guest-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/good.pub") << "# my keys\n\n" << kKey << "\n";
  std::ofstream(dir + "/bad.pub") << kKey << "\nnot a key\n";
  LoadResult ok = load(manifest("  guest:\n    ssh:\n      authorizedKeysFiles: [good.pub]\n"), dir);
  EXPECT_TRUE(ok.ok()) << errors(ok);
  ASSERT_EQ(ok.set.vms.at(0).guest.keys().size(), 1u);
  LoadResult bad = load(manifest("  guest:\n    ssh:\n      authorizedKeysFiles: [bad.pub, missing.pub]\n"), dir);
  std::string e = errors(bad);
  EXPECT_NE(e.find("spec.guest.ssh.authorizedKeysFiles[0]: " + dir + "/bad.pub line 2:"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.guest.ssh.authorizedKeysFiles[1]: " + dir + "/missing.pub cannot be read"), std::string::npos)
      << e;
  LoadResult both = load(manifest("  guest:\n    userData: \"#!/bin/sh\\n\"\n    userDataFile: u.txt\n"), dir);
  EXPECT_NE(errors(both).find("userData and userDataFile are both set"), std::string::npos) << errors(both);
  fs::remove_all(dir);
}

TEST(GuestSpec, AFileThatIsNoKeyFileIsNotEchoed) {
  char tmpl[] = "/tmp/banger-guest-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/shadow") << "root:secrethash:19000:0:99999:7:::\n";
  LoadResult r = load(manifest("  guest:\n    ssh:\n      authorizedKeysFiles: [shadow]\n"), dir);
  std::string e = errors(r);
  EXPECT_NE(e.find("shadow line 1: is not an OpenSSH public key"), std::string::npos) << e;
  EXPECT_EQ(e.find("secrethash"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(GuestSpec, UnderWatchFilesOutsideTheFolderAreRefusedUnread) {
  char tmpl[] = "/tmp/banger-guest-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  fs::create_directories(dir + "/repo");
  std::ofstream(dir + "/outside.pub") << kKey << "\n";
  std::ofstream(dir + "/repo/inside.pub") << kKey << "\n";
  fs::create_symlink(dir + "/outside.pub", dir + "/repo/link.pub");
  LoadResult r = load_texts({SourceText{dir + "/repo/m.yaml", dir + "/repo",
                                        manifest("  guest:\n    ssh:\n      authorizedKeysFiles: [inside.pub, ../outside.pub, "
                                                 "link.pub]\n    userDataFile: /etc/hostname\n")}});
  load_guest_files(r.set, r.diags, dir + "/repo");
  std::string e = errors(r);
  EXPECT_EQ(e.find("authorizedKeysFiles[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("authorizedKeysFiles[1]: " + dir + "/repo/../outside.pub is outside the watched folder"),
            std::string::npos) << e;
  EXPECT_NE(e.find("authorizedKeysFiles[2]: " + dir + "/repo/link.pub is outside the watched folder"), std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.guest.userDataFile: /etc/hostname is outside the watched folder"), std::string::npos) << e;
  EXPECT_EQ(r.set.vms.at(0).guest.keys().size(), 1u);
  fs::remove_all(dir);
}

TEST(GuestSpec, TildeIsTheInvokingUsersHome) {
  EXPECT_EQ(resolve_guest_path("~/.ssh/id.pub", "/m"), invoking_user_home() + "/.ssh/id.pub");
  EXPECT_EQ(resolve_guest_path("/abs/k.pub", "/m"), "/abs/k.pub");
  EXPECT_EQ(resolve_guest_path("k.pub", "/m"), "/m/k.pub");
}

GuestBoot boot() {
  GuestBoot g;
  g.vm = "web";
  g.hostname = "web";
  g.user = "root";
  g.keys = {kKey};
  g.host_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDxZAcLiX2Ak+zmB7+dyxn3iGeTDrz9i27gQOvfTLHM2 banger-web";
  g.host_private = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
  g.ip = "10.88.0.10";
  g.prefix = 24;
  g.gateway = "10.88.0.1";
  g.mac = "06:00:0A:58:00:0A";
  return g;
}

TEST(NoCloudSeed, MetaAndNetworkConfig) {
  GuestBoot g = boot();
  YAML::Node meta = YAML::Load(nocloud_meta_data(g));
  EXPECT_EQ(meta["local-hostname"].as<std::string>(), "web");
  EXPECT_EQ(meta["instance-id"].as<std::string>(), instance_id(g));
  YAML::Node net = YAML::Load(nocloud_network_config(g));
  EXPECT_EQ(net["version"].as<int>(), 2);
  EXPECT_EQ(net["ethernets"]["eth0"]["match"]["macaddress"].as<std::string>(), "06:00:0a:58:00:0a");
  EXPECT_EQ(net["ethernets"]["eth0"]["addresses"][0].as<std::string>(), "10.88.0.10/24");
  EXPECT_EQ(net["ethernets"]["eth0"]["routes"][0]["via"].as<std::string>(), "10.88.0.1");
}

TEST(NoCloudSeed, InstanceIdChangesWithWhatTheGuestIsGiven) {
  GuestBoot a = boot(), b = boot();
  EXPECT_EQ(instance_id(a), instance_id(b));
  b.keys.push_back(kKey + "2");
  EXPECT_NE(instance_id(a), instance_id(b));
  b = boot();
  b.hostname = "other";
  EXPECT_NE(instance_id(a), instance_id(b));
}

TEST(NoCloudSeed, UserDataCarriesKeysHostKeyAndRoot) {
  std::string text = nocloud_user_data(boot());
  ASSERT_EQ(text.rfind("#cloud-config\n", 0), 0u);
  YAML::Node c = YAML::Load(text);
  EXPECT_EQ(c["hostname"].as<std::string>(), "web");
  EXPECT_EQ(c["ssh_authorized_keys"][0].as<std::string>(), kKey);
  EXPECT_FALSE(c["disable_root"].as<bool>());
  EXPECT_EQ(c["ssh_keys"]["ed25519_public"].as<std::string>(), boot().host_public);
  EXPECT_EQ(c["ssh_keys"]["ed25519_private"].as<std::string>(), boot().host_private);
  ASSERT_EQ(c["ssh_genkeytypes"].size(), 1u);
  EXPECT_EQ(c["ssh_genkeytypes"][0].as<std::string>(), "ed25519");
}

TEST(NoCloudSeed, ANonRootUserIsMadeWithTheKeys) {
  GuestBoot g = boot();
  g.user = "alice";
  YAML::Node c = YAML::Load(nocloud_user_data(g));
  EXPECT_FALSE(c["disable_root"]);
  EXPECT_EQ(c["users"][0].as<std::string>(), "default");
  EXPECT_EQ(c["users"][1]["name"].as<std::string>(), "alice");
  EXPECT_EQ(c["users"][1]["ssh_authorized_keys"][0].as<std::string>(), kKey);
}

TEST(NoCloudSeed, TheUsersCloudConfigWinsWhereBothSetAKey) {
  GuestBoot g = boot();
  g.user_data = "#cloud-config\nhostname: theirs\npackages: [htop]\n";
  YAML::Node c = YAML::Load(nocloud_user_data(g));
  EXPECT_EQ(c["hostname"].as<std::string>(), "theirs");
  EXPECT_EQ(c["packages"][0].as<std::string>(), "htop");
  EXPECT_EQ(c["ssh_authorized_keys"][0].as<std::string>(), kKey);  // theirs set none
}

TEST(NoCloudSeed, AScriptGoesBesideBangersConfigInMultipart) {
  GuestBoot g = boot();
  g.user_data = "#!/bin/sh\necho hi\n";
  std::string text = nocloud_user_data(g);
  EXPECT_EQ(text.rfind("Content-Type: multipart/mixed; boundary=", 0), 0u) << text;
  EXPECT_NE(text.find("Content-Type: text/cloud-config"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/x-shellscript"), std::string::npos);
  EXPECT_NE(text.find("#!/bin/sh\necho hi\n"), std::string::npos);
}

TEST(NoCloudSeed, UserDataProblems) {
  EXPECT_EQ(user_data_problem("#cloud-config\na: 1\n"), "");
  EXPECT_EQ(user_data_problem("#!/bin/bash\n"), "");
  EXPECT_NE(user_data_problem("#cloud-config\n- a\n"), "");
  EXPECT_NE(user_data_problem("#cloud-config\na: [\n"), "");
  EXPECT_NE(user_data_problem("hello"), "");
}

}  // namespace
}  // namespace banger
