// Labels and selectors through the real binary: labels recorded for every
// kind and shown (--show-labels, -o json), `-l` in kubectl's syntax on get,
// diff, apply and delete; apply -l converges the selected resources and
// what they need, and --prune never takes what the selector leaves out.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host_e2e.h"

namespace {

class Selector : public banger::test::HostE2E {
 protected:
  void SetUp() override {
    HostE2E::SetUp();
    if (IsSkipped()) return;
    sparse_file("rootfs.ext4", 1 << 20);
  }
  std::string doc(const std::string& kind, const std::string& name, const std::string& labels, const std::string& spec) {
    return "---\napiVersion: banger.dev/v1\nkind: " + kind + "\nmetadata: {name: " + name +
           (labels.empty() ? "" : ", labels: {" + labels + "}") + "}\nspec: " + spec + "\n";
  }
  std::string vm(const std::string& name, const std::string& labels) {
    return doc("VM", name, labels, "{kernel: k, image: img, network: lab, memory: 128Mi, runtime: firecracker, "
                                   "diskStrategy: copy}");
  }
  void write(bool with_web2 = true) {
    std::string m = doc("Network", "lab", "env: dev", "{subnet: 10.83.0.0/24, dns: {enabled: false}}") +
                    doc("Kernel", "k", "", "{path: " + root() + "/vmlinux}") +
                    doc("Image", "img", "", "{path: " + root() + "/rootfs.ext4}") + vm("web-1", "app: web, env: dev") +
                    (with_web2 ? vm("web-2", "app: web, env: prod") : "") + vm("db", "app: db") +
                    doc("PortForward", "web-1-http", "app: web", "{vm: web-1, hostPort: 18080, guestPort: 80}");
    dir_->write("m/all.yaml", m);
  }
  std::vector<std::string> names(const std::vector<std::string>& args) {
    auto r = banger(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    if (r.exit_code != 0) return out;
    const nlohmann::json list = nlohmann::json::parse(r.out);  // kept: the loop reads into it
    for (const auto& item : list["items"]) {
      out.push_back(item["kind"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>());
    }
    return out;
  }
};

TEST_F(Selector, ApplyGetDiffAndDeleteBySelector) {
  write();
  // The selected VMs and forward, and the network, kernel and image they need; not db.
  auto a = banger({"apply", "-f", manifest_dir(), "-l", "app=web"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(names({"get", "-o", "json"}),
            (std::vector<std::string>{"VM/web-1", "VM/web-2", "Network/lab", "PortForward/web-1-http", "Kernel/k",
                                      "Image/img"}));
  EXPECT_EQ(names({"get", "vms", "-o", "json", "-l", "env in (dev,test)"}), std::vector<std::string>{"VM/web-1"});
  EXPECT_EQ(names({"get", "vms", "-o", "json", "-l", "app=web,env notin (dev)"}), std::vector<std::string>{"VM/web-2"});
  EXPECT_EQ(names({"get", "-o", "json", "-l", "env=dev"}), (std::vector<std::string>{"VM/web-1", "Network/lab"}));
  auto j = nlohmann::json::parse(banger({"get", "vm", "web-1", "-o", "json"}).out);
  EXPECT_EQ(j["items"][0]["metadata"]["labels"], (nlohmann::json{{"app", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(j["items"][0]["spec"].contains("labels"));
  // What completion scripts offer after `get vm `: the names this host has.
  auto names_of = banger({"__complete", "vm"});
  EXPECT_EQ(names_of.out, "web-1\nweb-2\n") << names_of.err;
  auto shown = banger({"get", "networks", "--show-labels"});
  EXPECT_NE(shown.out.find("LABELS"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("env=dev"), std::string::npos) << shown.out;

  // diff -l: only what the selector names is compared.
  auto d = banger({"diff", "-f", manifest_dir(), "-l", "app=web"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  d = banger({"diff", "-f", manifest_dir(), "-l", "app=db"});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.out.find("+ VM/db"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("Plan: 1 to create, 0 to update, 0 to replace, 0 to repair, 0 to delete."), std::string::npos)
      << d.out;

  // web-2 leaves the manifests: a prune under app=db keeps it, one under app=web takes it.
  write(/*with_web2=*/false);
  a = banger({"apply", "-f", manifest_dir(), "-l", "app=db", "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(names({"get", "vms", "-o", "json"}), (std::vector<std::string>{"VM/db", "VM/web-1", "VM/web-2"}));
  a = banger({"apply", "-f", manifest_dir(), "-l", "app=web", "--prune"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("- VM/web-2"), std::string::npos) << a.out;
  EXPECT_EQ(names({"get", "vms", "-o", "json"}), (std::vector<std::string>{"VM/db", "VM/web-1"}));

  // delete -l: what this host applied that matches, of KIND when given; not what it needs.
  auto del = banger({"delete", "vms", "-l", "app in (web)"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(names({"get", "vms", "-o", "json"}), std::vector<std::string>{"VM/db"});
  EXPECT_EQ(names({"get", "-o", "json", "-l", "app=web"}), std::vector<std::string>{"PortForward/web-1-http"});
  // web-1 went already: not found, as kubectl says, unless --ignore-not-found.
  del = banger({"delete", "-f", manifest_dir(), "-l", "app=web"});
  EXPECT_EQ(del.exit_code, 1) << del.out << del.err;
  EXPECT_NE(del.err.find("VM/web-1 not found"), std::string::npos) << del.err;
  del = banger({"delete", "-f", manifest_dir(), "-l", "app=web", "--ignore-not-found"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(names({"get", "-o", "json", "-l", "app=web"}), std::vector<std::string>{});
  EXPECT_EQ(names({"get", "networks", "-o", "json"}), std::vector<std::string>{"Network/lab"});
}

TEST_F(Selector, ABadSelectorIsAnErrorBeforeAnything) {
  write();
  for (auto args : std::vector<std::vector<std::string>>{{"get", "-l", "env in (dev"},
                                                         {"apply", "-f", "M", "-l", "app=web,"},
                                                         {"diff", "-f", "M", "-l", "env within (a)"},
                                                         {"delete", "vms", "-l", "a b=c"}}) {
    for (auto& a : args) {
      if (a == "M") a = manifest_dir();
    }
    auto r = banger(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("Error: -l: "), std::string::npos) << r.err;
  }
  EXPECT_EQ(names({"get", "-o", "json"}), std::vector<std::string>{});
}

}  // namespace
