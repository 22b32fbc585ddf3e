// What is on the host now, as far as banger's records and one bulk read per
// driver can tell. Plain data: HostReconciler::observe (host_reconciler.cc)
// fills it, diff.cc reads it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "drivers/resolved.h"
#include "drivers/nat.h"
#include "drivers/netlink.h"
#include "drivers/process.h"
#include "reconciler/runtime_choice.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

/// A device-mapper device named banger-*, as listed.
struct ObservedDm {
  std::string name;
  std::string uuid;                ///< "BANGER-<tag>-<vm>" when this state dir made it
  std::vector<std::string> deps;   ///< "MAJ:MIN" of the devices it sits on
};

/// A loop device that carries banger's label (lo_file_name "banger:<tag>:…").
struct ObservedLoop {
  std::string device;        ///< "/dev/loop3"
  std::string majmin;        ///< "7:3"
  std::string backing_file;
  std::string label;
  bool held = false;         ///< something (a dm device) sits on it
};

/// Disks on the host: what can be used for new ones, and banger's dm and loop
/// devices and VM folders, each read in one pass.
struct DiskHost {
  std::string tag;          ///< this state dir's ownership tag (disk_rules.h)
  std::string vms_dir;      ///< STATE/vms
  bool reflink = false;     ///< FICLONE works in vms_dir
  bool devmapper = false;   ///< the kernel has device-mapper
  std::string devmapper_why;  ///< why not, for doctor and errors
  std::vector<ObservedDm> dm;
  std::vector<ObservedLoop> loops;
  std::vector<std::string> vm_dirs;  ///< folder names under vms_dir
};

/// A network's dnsmasq as its run dir shows it: alive or not, and FNV-1a
/// sums (dns_sum) of the files it serves, which diff compares with what the
/// manifests and records make.
struct ObservedDns {
  bool running = false;
  std::string conf_sum, hosts_sum, dhcp_sum;
  friend bool operator==(const ObservedDns&, const ObservedDns&) = default;
};

struct ObservedState {
  std::map<ResourceKey, ResourceRecord> applied;  ///< what banger applied, by key
  std::map<std::string, VmRecord> vms;            ///< durable VM records
  std::map<std::string, VmRuntime> runtimes;      ///< recorded processes
  std::set<std::string> running;                  ///< VMs whose recorded process is alive (pid+start+exe)
  std::set<std::string> disks_present;            ///< VMs whose disk file (or dm device) exists
  std::map<std::string, DiskRecord> disks;        ///< how each VM's disk was made
  DiskHost disk_host;
  HypervisorHost hypervisors;                     ///< KVM facts, binaries and --accel: which runtime a VM gets
  LinkSnapshot links;                             ///< one netlink dump
  NatObserved nat;                                ///< one nft listing of table ip banger
  /// false when nft was not listed because only root may (a reader in the
  /// group banger): diff then takes the rules as expected and says so.
  bool nat_known = true;
  /// Each network's DNS server, by network (the folders under dns_root);
  /// nullopt when not observed (an export made before DNS servers existed).
  std::optional<std::map<std::string, ObservedDns>> dns;
  /// What systemd-resolved holds for each DNS-serving network's bridge, by
  /// network (nullopt inside: resolved does not know the link); nullopt
  /// when resolved does not run here, or not observed (an export).
  std::optional<std::map<std::string, std::optional<ResolvedLink>>> resolved;
  std::string dns_root;                           ///< RUN/networks
  std::string dns_user;                           ///< dnsmasq_user_for(dns_root)
  bool ip_forward = false;
  /// How recorded processes that are no longer running ended (their
  /// reaper's exit-status file), and the restart history restartPolicy needs.
  std::map<std::string, ExitStatus> exits;
  std::map<std::string, RestartRecord> restarts;
  int64_t now_ms = 0;  ///< when this was observed (unix ms): back-off is judged against it
  /// What banger recorded before making each host object, and the steps a
  /// run began and never ended (reconciler/interrupted.h reads both).
  std::vector<OwnedObject> owned;
  std::vector<JournalEntry> journal;
};

}  // namespace banger
