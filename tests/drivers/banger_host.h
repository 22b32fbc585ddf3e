// The real banger binary run against a test's own state and run dirs, with
// the strict fake Firecracker: what the end-to-end tests share.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_command.h"

namespace banger::test {

/// `banger ARGS --state-dir ROOT/state --run-dir ROOT/run`, plus the fake
/// Firecracker for the commands that plan, start or export VMs, and a short
/// stop timeout for those that start or stop them.
inline CommandResult run_banger_in(const std::string& root, const std::vector<std::string>& args,
                                   const std::string& stop_timeout = "2s") {
  std::vector<std::string> argv{BANGER_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--state-dir", root + "/state", "--run-dir", root + "/run"});
  const std::string cmd = args.empty() ? "" : args[0];
  // diff judges the runtime of each VM it would start, as apply does, and
  // state export records which Firecracker the host has.
  if (cmd == "apply" || cmd == "delete" || cmd == "diff" || cmd == "state") {
    argv.insert(argv.end(), {"--firecracker", FAKE_FIRECRACKER_BIN});
  }
  if (cmd == "apply" || cmd == "delete") argv.insert(argv.end(), {"--stop-timeout", stop_timeout});
  return run_command(argv, "", 120);
}

/// The body of the VM's PUT /boot-source, as the fake Firecracker logged it
/// (ROOT/run/vms/VM/firecracker.sock.requests.jsonl); null when there is none.
inline nlohmann::json boot_source_in(const std::string& root, const std::string& vm) {
  std::ifstream f(root + "/run/vms/" + vm + "/firecracker.sock.requests.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["path"] == "/boot-source") return j["body"];
  }
  return {};
}

/// `banger get vm NAME -o json`'s status object.
inline nlohmann::json vm_status_in(const std::string& root, const std::string& vm) {
  auto r = run_banger_in(root, {"get", "vm", vm, "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(r.out)["items"][0]["status"];
}

}  // namespace banger::test
