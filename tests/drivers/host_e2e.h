// The fixture the host end-to-end tests share: the test binary's private
// network namespace, a temp folder with a fake kernel (ROOT/vmlinux), the real
// banger run against the folder's own state and run dirs with the strict fake
// Firecracker (banger_host.h), and a TearDown that deletes what the manifests
// in ROOT/m name and then kills whatever still runs from the folder, also
// when an assertion ended the test early.
#pragma once

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "banger_host.h"
#include "leftovers.h"
#include "netns.h"
#include "run_command.h"

namespace banger::test {

/// `/bin/sh -c cmd` (inside the test's namespace).
inline CommandResult sh(const std::string& cmd) { return run_command({"/bin/sh", "-c", cmd}); }

class HostE2E : public ::testing::Test {
 protected:
  /// Derived SetUps call this first and return when IsSkipped().
  void SetUp() override {
    REQUIRE_PRIVATE_NETNS();
    dir_ = std::make_unique<TempDir>();
    // As /run is: others may pass through (not list), so that a network's
    // dnsmasq, no longer root, reaches its hosts files in ROOT/run.
    ::chmod(dir_->path().c_str(), 0711);
    dir_->write("vmlinux", std::string(4096, 'k'));
  }
  void TearDown() override {
    if (!dir_) return;
    banger({"delete", "-f", manifest_dir(), "--ignore-not-found"});
    kill_processes_mentioning(dir_->path());
  }

  const std::string& root() const { return dir_->path(); }
  std::string manifest_dir() const { return root() + "/m"; }
  /// A sparse file ROOT/name of `bytes` (an image with nothing in it).
  void sparse_file(const std::string& name, uint64_t bytes) {
    ASSERT_EQ(sh("truncate -s " + std::to_string(bytes) + " " + root() + "/" + name).exit_code, 0);
  }
  CommandResult banger(const std::vector<std::string>& args) { return run_banger_in(root(), args, stop_timeout_); }

  std::unique_ptr<TempDir> dir_;
  std::string stop_timeout_ = "2s";  ///< --stop-timeout of apply and delete
};

}  // namespace banger::test
