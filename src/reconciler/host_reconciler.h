// The host side of a reconcile: one bulk observe, and the code that carries
// out each plan action with the drivers. Every host object is recorded in the
// store (and the change journaled) before it is made, and forgotten only
// after it is gone, so a crash at any point leaves a record to finish from.
#pragma once

#include <chrono>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "drivers/artifact_store.h"
#include "drivers/hypervisor.h"
#include "drivers/nat.h"
#include "reconciler/action_outcome.h"
#include "reconciler/desired_state.h"
#include "reconciler/disk_manager.h"
#include "reconciler/observed_state.h"
#include "reconciler/plan.h"
#include "reconciler/runtime_choice.h"
#include "reconciler/journaled.h"
#include "reconciler/tap_batch.h"
#include "state/store.h"

namespace banger {

/// Unix milliseconds now.
int64_t now_ms();

struct HostOptions {
  std::string state_dir = "/var/lib/banger";
  std::string run_dir = "/run/banger";
  std::string firecracker_bin;  ///< --firecracker; "" = env or PATH
  /// --accel (or BANGER_ACCEL): QEMU's acceleration for the whole host.
  Accel accel = Accel::Auto;
  std::string accel_from = "--accel";
  std::chrono::milliseconds stop_grace{std::chrono::seconds(10)};
  /// Artifact downloads: timeouts, retries, back-off, and the progress
  /// callback (the CLI draws it; the reconciler never prints).
  DownloadOptions download;
};

/// KVM's facts, the Firecracker and QEMU binaries, and the --accel setting
/// of `opts`: what choose_runtime needs. About 1 ms; boots nothing.
HypervisorHost observe_hypervisors(const HostOptions& opts);
/// The DNS servers whose folders are under root (RUN/networks), by network.
std::map<std::string, ObservedDns> observe_dns(const std::string& root);
/// What systemd-resolved holds for each DNS-serving network's bridge;
/// nullopt when resolved does not run here (one bus call then).
std::optional<std::map<std::string, std::optional<ResolvedLink>>> observe_resolved(
    const std::map<std::string, Network>& networks, const LinkSnapshot& links);

class HostReconciler {
 public:
  HostReconciler(Store& store, HostOptions opts);
  ~HostReconciler();

  /// One netlink dump, one nft listing, one pass over recorded processes,
  /// one dm listing and one pass over loop devices, plus the store.
  /// Without `with_nat`, no nft listing: `nat` stays empty.
  ObservedState observe(bool with_nat = true);
  /// Before the plan's actions: asks every VM the plan stops (deletes,
  /// restarts, state: Stopped) to shut down, all at once, so that the
  /// guests' shutdowns overlap and each stop then only waits out what is
  /// left of its grace (stop_asks.cc).
  void begin(const Plan& plan, const DesiredState& desired);
  /// Carries out one action of `plan` (thread-safe; called by the executor).
  ActionOutcome run(const Action& a, const Plan& plan, const DesiredState& desired);

  /// Paths banger uses for a VM.
  std::string disk_path(const std::string& vm) const;
  std::string vm_run_dir(const std::string& vm) const;
  /// RUN/networks: one folder per network DNS server.
  std::string dns_root() const;

 private:
  ActionOutcome dispatch(const Action& a, const Plan& plan, const DesiredState& d);
  /// Removes what interrupted runs left for owners banger no longer knows
  /// (reconciler/interrupted.h), kills their hypervisors, closes the entries.
  ActionOutcome sweep_owned(const OwnedOrphans& orphans);
  ActionOutcome ensure_network(const Action& a, const Plan& plan, const DesiredState& d);
  ActionOutcome delete_network(const Action& a);
  ActionOutcome verify_artifact(const Action& a, const DesiredState& d);
  /// A Kernel's, initrd's or Image's file, checked: a `url` is fetched into
  /// the artifact store (or found there) and verified; a `path` must be a
  /// file whose sha256, when given, matches (cached by size and mtime).
  /// `label` is "Kernel/k", `field` "spec" or "spec.initrd". Sets *summary
  /// to what was done (artifact.fetch or artifact.check).
  std::string resolve_artifact(const std::string& label, const std::string& field,
                               const ArtifactSource& s, StepDone* summary = nullptr);
  /// The file a VM boots from: the store's copy for a `url` (fetched again
  /// if it went missing), else the resolved path.
  std::string artifact_file(const std::string& label, const std::string& field, const ArtifactSource& s);
  /// An `oci:` Image's ext4 file, pulled and flattened (or found in the cache).
  std::string oci_image_file(const std::string& label, const ArtifactSource& s, StepDone* summary = nullptr);
  /// An `oci:` Kernel's kernel and initrd ("" when it has none).
  std::pair<std::string, std::string> oci_kernel_files(const std::string& label, const ArtifactSource& s,
                                                       StepDone* summary = nullptr);
  ActionOutcome ensure_vm(const Action& a, const Change* c, const DesiredState& d);
  /// What the steps of ensure_vm work on (vm_actions.cc).
  struct VmStep {
    const VM& vm;
    const Network& net;
    const Image& image;
    const Change* change;  ///< nullptr: no change of its own (e.g. a dependency's)
    std::string owner;     ///< "VM/name"
    std::string name;
  };
  VmRecord vm_record_step(const VmStep& s);
  void vm_stop_for_restart_step(const VmStep& s, ActionOutcome& did);
  void tap_ensure_step(const VmStep& s, const VmRecord& rec, ActionOutcome& did);
  void disk_ensure_step(const VmStep& s, VmRecord& rec, ActionOutcome& did);
  void vm_process_step(const VmStep& s, const VmRecord& rec, const DesiredState& d, ActionOutcome& did);
  ActionOutcome delete_vm(const std::string& name);
  ActionOutcome sync_nat(const DesiredState& d, const Plan& plan);
  ActionOutcome sync_dns(const Plan& plan);
  /// Stops a network's dnsmasq and removes its folder (absent is success).
  void remove_dns_server(const std::string& network);
  ActionOutcome record(const ResourceKey& key, const DesiredState& d);
  ActionOutcome forget(const ResourceKey& key);

  /// What the store records (applied resources, VMs, processes); no host reads.
  ObservedState records();
  /// The NAT ruleset this plan converges to, from the store as it is now.
  NatRuleset target_rules(const DesiredState& d, const Plan& plan);
  /// Stops the VM's recorded process (graceful, then killed after the
  /// grace: counted from begin()'s ask when there was one).
  StopOutcome stop_vm(const std::string& name);
  /// A VM begin() asked to shut down: when, and its journal entry, which
  /// stays open until stop_vm has seen the process gone. A run killed in
  /// between leaves it, and the next run finishes that stop (vm_process_step)
  /// instead of counting a guest on its way down as running.
  struct Asked {
    std::chrono::steady_clock::time_point at;
    int64_t entry = 0;
  };
  std::mutex asked_mu_;
  std::map<std::string, Asked> asked_;  ///< under asked_mu_
  /// An earlier, killed run asked this VM to shut down and never saw it go.
  bool left_going_down(const std::string& name);
  /// Kills every process under the VM's run dir that its runtime record does
  /// not name: a hypervisor started by a run that died before recording it.
  /// Returns how many.
  int reap_unrecorded(const std::string& name);
  /// Starts `vm` and records its process; returns that record.
  /// `seed_path`: the NoCloud seed prepare_guest made, "" for none.
  VmRuntime start_vm(const VM& vm, const VmRecord& rec, const DesiredState& d, const std::string& seed_path);
  /// The hypervisor choose_runtime picks for `vm`; *accel gets QEMU's
  /// "kvm"/"tcg" ("" for Firecracker). Throws HostError when none can run it.
  std::unique_ptr<Hypervisor> hypervisor_for(const VM& vm, std::string* accel);
  /// The disk facts of the last observe (observed now when there was none).
  DiskHost disk_host();
  /// The hypervisor facts of the last observe (observed now when there was none).
  HypervisorHost hypervisor_host();
  /// Counts a restart of a VM whose recorded process `rt` ended on its own.
  void record_restart(const std::string& name, const VmRuntime& rt);

  /// Journals `action` on `type`/`id` around fn: the entry exists while the
  /// host is being changed and is removed once fn returned.
  template <class Fn>
  auto journaled(const std::string& action, const std::string& type, const std::string& id,
                 const std::string& owner, Fn&& fn) {
    return journaled_change(store_, action, type, id, owner, std::forward<Fn>(fn));
  }
  template <class Fn>
  auto locked(Fn&& fn) {
    return with_store(store_, std::forward<Fn>(fn));
  }

  Store& store_;
  HostOptions opts_;
  std::mutex net_mu_;    ///< link changes are serialized: bridge before its taps, no racing dumps
  /// Deletes of taps from concurrent delete_vm calls, sent as one request.
  TapBatch tap_deletes_;
  NatDriver nat_;
  ArtifactStore artifacts_;  ///< one per run: its per-hash locks make same-hash downloads share one
  /// Links as of the last observe(). Drivers trust it to skip work that is
  /// already done and read the kernel afresh only when they change something,
  /// so a plan for N VMs needs no N link dumps.
  LinkSnapshot seen_links_;
  DiskManager disks_;
  std::mutex disk_host_mu_;
  std::optional<DiskHost> seen_disks_;
  std::optional<HypervisorHost> seen_hypervisors_;  ///< under disk_host_mu_
  /// Processes under the run dir's vms/, from one /proc scan at the first
  /// reap_unrecorded of this run (under disk_host_mu_).
  std::optional<std::vector<ProcessUnder>> seen_processes_;
};

}  // namespace banger
