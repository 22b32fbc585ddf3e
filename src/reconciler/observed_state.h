// What is on the host now, as far as banger's records and one bulk read per
// driver can tell. Plain data: observe.cc fills it, diff.cc reads it.
#pragma once

#include <map>
#include <set>
#include <string>

#include "drivers/nat.h"
#include "drivers/netlink.h"
#include "drivers/process.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

struct ObservedState {
  std::map<ResourceKey, ResourceRecord> applied;  ///< what banger applied, by key
  std::map<std::string, VmRecord> vms;            ///< durable VM records
  std::map<std::string, VmRuntime> runtimes;      ///< recorded processes
  std::set<std::string> running;                  ///< VMs whose recorded process is alive (pid+start+exe)
  std::set<std::string> disks_present;            ///< VMs whose disk file exists
  LinkSnapshot links;                             ///< one netlink dump
  NatObserved nat;                                ///< one nft listing of table ip banger
  bool ip_forward = false;
  /// How recorded processes that are no longer running ended (their
  /// reaper's exit-status file), and the restart history restartPolicy needs.
  std::map<std::string, ExitStatus> exits;
  std::map<std::string, RestartRecord> restarts;
  int64_t now_ms = 0;  ///< when this was observed (unix ms): back-off is judged against it
};

}  // namespace banger
