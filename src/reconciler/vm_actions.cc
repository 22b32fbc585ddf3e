// VM actions: address, tap, disk and process, each recorded before it is made.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <algorithm>
#include <filesystem>
#include <optional>
#include <tuple>

#include <spdlog/spdlog.h>

#include "common/fault.h"
#include "common/host_error.h"
#include "common/profile.h"
#include "drivers/disk.h"
#include "drivers/firecracker.h"
#include "drivers/qemu.h"
#include "drivers/netlink.h"
#include "drivers/process.h"
#include "drivers/tap.h"
#include "drivers/vm_files.h"
#include "reconciler/guest_prepare.h"
#include "reconciler/restart_policy.h"
#include "reconciler/dns_target.h"
#include "reconciler/host_reconciler.h"
#include "reconciler/recorded_vm.h"

namespace fs = std::filesystem;

namespace banger {

std::unique_ptr<Hypervisor> HostReconciler::hypervisor_for(const VM& vm, std::string* accel) {
  // The same choice, from the same facts, as the plan showed (diff.cc).
  RuntimeChoice c = choose_runtime(vm.runtime.value, hypervisor_host());
  if (!c.error.empty()) throw HostError(c.error, ErrorCode::Invalid);
  *accel = c.accel();
  if (c.runtime == Runtime::Qemu) return std::make_unique<QemuDriver>(c.binary, c.kvm);
  return std::make_unique<FirecrackerDriver>(c.binary);
}

namespace {
// How a stop ended, for the report: "stop": "killed" when the grace ran out.
std::map<std::string, std::string> stop_facts(StopOutcome o) {
  if (o == StopOutcome::Killed) return {{"stop", "killed"}};
  return {{"stop", o == StopOutcome::Graceful ? "graceful" : "gone"}};
}
}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void HostReconciler::record_restart(const std::string& name, const VmRuntime& rt) {
  auto exit = read_exit_status(exit_status_file(vm_run_dir(name)));
  locked([&] {
    std::optional<RestartRecord> prev;
    for (auto& r : store_.restart_records()) {
      if (r.name == name) prev = r;
    }
    store_.put_restart_record(next_restart_record(name, prev ? &*prev : nullptr, rt, exit, now_ms()));
  });
}

StopOutcome HostReconciler::stop_vm(const std::string& name) {
  // Asked by begin(): the grace runs from then, and the ask is not repeated.
  std::optional<Asked> ask;
  {
    std::lock_guard lock(asked_mu_);
    if (auto it = asked_.find(name); it != asked_.end()) {
      ask = it->second;
      asked_.erase(it);
    }
  }
  // The ask's entry closes once the process is seen gone (or never was).
  auto close_ask = [&] {
    if (ask) locked([&] { store_.journal_end(ask->entry); });
  };
  auto rt = locked([&] { return store_.runtime(name); });
  if (!rt) {
    close_ask();
    return StopOutcome::Gone;
  }
  const VmHandle h = recorded_handle(*rt);
  std::chrono::milliseconds grace = opts_.stop_grace;
  const bool asked = ask.has_value();
  if (ask) {
    using namespace std::chrono;
    grace = std::max(milliseconds(0), duration_cast<milliseconds>(ask->at + grace - steady_clock::now()));
  }
  StopOutcome out = StopOutcome::Gone;
  journaled("stop", "process", std::to_string(rt->pid), "VM/" + name,
            [&] { out = recorded_hypervisor(*rt)->stop(h, grace, asked); });
  close_ask();
  if (asked && out == StopOutcome::Gone) out = StopOutcome::Graceful;  // it went when asked
  // The reaper writes the exit status once the process is gone; wait for it
  // (briefly) so that nothing writes into the run dir after it is removed.
  const std::string status = exit_status_file(vm_run_dir(name));
  {
    profile::Scope wait("vm.stop.exit_status");
    wait_for_exit_status(status, std::chrono::seconds(2));
  }
  std::error_code ec;
  fs::remove(status, ec);  // a deliberate stop is not an exit to restart from
  locked([&] {
    store_.delete_runtime(name);
  });
  return out;
}

int HostReconciler::reap_unrecorded(const std::string& name) {
  // One scan of /proc per run, not one per VM. It is taken at the first
  // reap, and every start reaps first, so it holds no process this run started.
  std::vector<ProcessUnder> procs;
  {
    std::lock_guard lock(disk_host_mu_);
    if (!seen_processes_) seen_processes_ = processes_under(opts_.run_dir + "/vms");
    procs = *seen_processes_;
  }
  const std::string dir = vm_run_dir(name);
  auto rt = locked([&] { return store_.runtime(name); });
  int reaped = 0;
  for (const ProcessUnder& u : procs) {
    const ProcessIdentity& p = u.process;
    if (u.arg != dir && u.arg.rfind(dir + "/", 0) != 0) continue;
    if (rt && p.pid == rt->pid && p.start_time == rt->start_time) continue;
    if (!is_running(p)) continue;  // gone since the scan (stopped earlier in this run)
    journaled("kill", "process", std::to_string(p.pid), "VM/" + name, [&] { kill_process(p); });
    ++reaped;
  }
  return reaped;
}

VmRuntime HostReconciler::start_vm(const VM& vm, const VmRecord& rec, const DesiredState& d,
                                   const std::string& seed_path) {
  const Kernel* k = d.set.find_kernel(vm.kernel.value);
  const Network* n = d.set.find_network(vm.network.value);
  if (!k || !n) throw HostError("VM/" + vm.name() + ": kernel or network is missing");
  std::string accel;
  auto hv = hypervisor_for(vm, &accel);
  VmLaunch launch;
  launch.name = vm.name();
  launch.run_dir = vm_run_dir(vm.name());
  if (k->source.oci.ref_text.set) {
    std::tie(launch.kernel_path, launch.initrd_path) = oci_kernel_files("Kernel/" + k->name(), k->source);
  } else {
    launch.kernel_path = artifact_file("Kernel/" + k->name(), "spec", k->source);
    launch.initrd_path = k->initrd ? artifact_file("Kernel/" + k->name(), "spec.initrd", *k->initrd) : "";
  }
  launch.boot_args = boot_args(*k, vm, *parse_ipv4(rec.ip), n->subnet.value, vm_nameserver(*n));
  launch.rootfs_path = rec.disk_path;
  launch.seed_path = seed_path;
  launch.vcpus = vm.vcpus.value;
  launch.mem_mib = vm.memory.value / MiB;
  launch.tap = rec.tap;
  launch.mac = rec.mac;
  // The run dir was recorded with the VM (vm_record_step).
  VmHandle h = journaled("start", "process", vm.name(), "VM/" + vm.name(), [&] { return hv->start(launch); });
  VmRuntime rt{vm.name(), h.process.pid, h.process.start_time, h.process.exe, h.api_socket,
               h.log_path, hv->name(), static_cast<int64_t>(std::time(nullptr)), accel};
  locked([&] {
    store_.put_runtime(rt);
  });
  fault_point("after", "vm.record_runtime");
  return rt;
}

// ensure_vm runs these steps in order; each says what it did in `did`.
// Their names (vm.record, vm.stop_for_restart, tap.ensure, disk.ensure,
// vm.process) are what logs and errors can point at.

// vm.record: records first (address, sticky; MAC; tap, disk and run dir),
// in one synced commit, so that everything made after them is already owned.
VmRecord HostReconciler::vm_record_step(const VmStep& s) {
  // Not under locked(): the transaction holds the store itself, and its sync
  // then waits with the store let go, so the workers' records share fsyncs.
  VmRecord r;
  store_.transaction(
      [&] {
        auto old = store_.vm(s.name);
        if (old && old->network != s.net.name()) store_.release_ips(s.name);
        Ipv4 ip = store_.allocate_ip(s.net.name(), s.net.subnet.value, s.name, s.vm.ip.value);
        // The disk's path stays as recorded: a snapshot's is its dm device.
        r = VmRecord{s.name, s.net.name(), ip.str(), mac_for(ip), tap_name_for(s.name),
                     old ? old->disk_path : disk_path(s.name)};
        store_.record_owned({"tap", r.tap, s.owner});
        store_.record_owned({"disk", r.disk_path, s.owner});
        store_.record_owned({"rundir", vm_run_dir(s.name), s.owner});
        store_.put_vm(r);
      },
      Store::Sync::Full);
  fault_point("after", "vm.record");
  return r;
}

// vm.stop_for_restart: a restart or a new disk stops the old process first,
// as the diff decided (Change::stop_first).
void HostReconciler::vm_stop_for_restart_step(const VmStep& s, ActionOutcome& did) {
  const Change* c = s.change;
  const bool replace = c && c->type == ChangeType::Replace;
  if (c && c->stop_first && locked([&] { return store_.runtime(s.name).has_value(); })) {
    did.add({"vm.stop_for_restart", "", "stopped", stop_facts(stop_vm(s.name))});
  }
  if (replace) {
    disks_.remove(s.name, s.owner);
    did.add({"disk.remove", "", "removed", {}});
  }
}

// tap.ensure: the VM's tap on its network's bridge.
void HostReconciler::tap_ensure_step(const VmStep& s, const VmRecord& rec, ActionOutcome& did) {
  // net_mu_ only around the kernel calls: held across the journal's store
  // writes, it made every other worker's tap wait for this one's commit.
  OpResult r = journaled("ensure", "tap", rec.tap, s.owner, [&] {
    std::lock_guard lock(net_mu_);
    Netlink nl;
    return TapDriver(nl).ensure({rec.tap, s.net.bridge.value, s.net.isolation.value}, seen_links_);
  });
  if (r != OpResult::Unchanged) did.add({"tap.ensure", rec.tap, to_string(r), {}});
}

// disk.ensure: the disk from the image (the disk manager journals and
// records each part); a snapshot's device becomes the recorded path.
void HostReconciler::disk_ensure_step(const VmStep& s, VmRecord& rec, ActionOutcome& did) {
  DiskResult disk = disks_.ensure({s.name, artifact_file("Image/" + s.image.name(), "spec", s.image.source),
                                   s.vm.disk_size.value, s.vm.disk_strategy.value, s.owner},
                                  disk_host());
  if (disk.device != rec.disk_path) {
    rec.disk_path = disk.device;
    locked([&] { store_.put_vm(rec); });
  }
  if (disk.result == OpResult::Updated) {
    did.add({"disk.ensure", rec.disk_path, "grown", {{"size", format_size(disk.size)}}});
  } else if (disk.result != OpResult::Unchanged) {
    did.add({"disk.ensure", rec.disk_path, to_string(disk.result), {{"method", to_string(disk.method)}}});
  }
}

// vm.process: the process as spec.state says. A process that ended on its
// own (not stopped by banger, whose stop forgets the record) is counted as a
// restart; restartPolicy and back-off were weighed by diff (keep_down).
void HostReconciler::vm_process_step(const VmStep& s, const VmRecord& rec, const DesiredState& d,
                                     ActionOutcome& did) {
  // A killed run asked this VM to shut down and never saw it go: the guest
  // is on its way down, so that stop is finished first (counted as running,
  // it would exit right after this run). Its exit is no crash to restart from.
  if (left_going_down(s.name)) {
    StopOutcome o = stop_vm(s.name);
    if (o != StopOutcome::Gone) did.add({"vm.stop", "", "stopped", stop_facts(o)});
  }
  auto rt = locked([&] { return store_.runtime(s.name); });
  const bool alive = rt && is_running(recorded_process(*rt));
  const bool keep_down = s.change && s.change->keep_down;
  const bool want_running = s.vm.state.value == VmState::Running;
  if (rt && !alive && !keep_down) {
    if (want_running) record_restart(s.name, *rt);
    locked([&] { store_.delete_runtime(s.name); });
  }
  if (want_running && !alive && !keep_down) {
    // A run killed between the start and its record left a hypervisor that
    // holds the tap and the socket: it goes before a new one starts.
    if (int n = reap_unrecorded(s.name)) did.add({"vm.reap", "", "killed", {{"count", std::to_string(n)}}});
    PreparedGuest guest;
    {
      profile::Scope p("vm.guest");
      guest = journaled("prepare", "guest", s.name, s.owner,
                        [&] { return prepare_guest(s.vm, rec, s.net, disks_.vm_dir(s.name)); });
    }
    for (const std::string& w : guest.warnings) spdlog::warn("{}", w);
    if (guest.files_written || !guest.seed_path.empty()) {
      std::map<std::string, std::string> facts;
      if (guest.files_written) facts["files"] = "written";
      if (!guest.seed_path.empty()) facts["seed"] = guest.seed_path;
      facts["hostKey"] = guest.host_key_pinned ? "pinned" : "first use";
      did.add({"guest.prepare", "", "prepared", facts});
    }
    VmRuntime started = start_vm(s.vm, rec, d, guest.seed_path);
    did.add({"vm.start", "", "started",
             {{"runtime", started.label()}, {"pid", std::to_string(started.pid)}, {"ip", rec.ip}}});
  } else if (!want_running && alive) {
    did.add({"vm.stop", "", "stopped", stop_facts(stop_vm(s.name))});
  }
}

ActionOutcome HostReconciler::ensure_vm(const Action& a, const Change* c, const DesiredState& d) {
  const VM* vm = d.set.find_vm(a.key.name);
  if (!vm) throw HostError(a.key.str() + " is not in the manifests");
  const Network* net = d.set.find_network(vm->network.value);
  const Image* image = d.set.find_image(vm->image.value);
  if (!net || !image) throw HostError(a.key.str() + ": network or image is missing");
  // The CLI refuses such a plan before it starts; this keeps every other
  // caller (the watcher) from losing a disk's data without --replace.
  if (c && c->refused()) throw HostError(refusal_reason(*c), ErrorCode::Invalid);

  const VmStep s{*vm, *net, *image, c, a.key.str(), vm->name()};
  ActionOutcome did;
  VmRecord rec;
  {
    profile::Scope p("vm.record");
    rec = vm_record_step(s);
  }
  vm_stop_for_restart_step(s, did);
  {
    profile::Scope p("vm.tap");
    tap_ensure_step(s, rec, did);
  }
  {
    profile::Scope p("vm.disk");
    disk_ensure_step(s, rec, did);
  }
  {
    profile::Scope p("vm.process");
    vm_process_step(s, rec, d, did);
  }
  profile::Scope p("vm.resource_record");
  record(a.key, d);
  if (did.steps.empty()) did.note = c && c->type != ChangeType::Repair ? "record updated" : "up to date";
  return did;
}

ActionOutcome HostReconciler::delete_vm(const std::string& name) {
  const std::string owner = "VM/" + name;
  auto rec = locked([&] { return store_.vm(name); });
  StopOutcome stopped;
  {
    profile::Scope p("vm.delete.stop");
    stopped = stop_vm(name);
    reap_unrecorded(name);
  }
  if (rec) {
    journaled("delete", "tap", rec->tap, owner, [&] { tap_deletes_.remove(rec->tap); });
    profile::Scope p("vm.delete.disk");
    disks_.remove(name, owner);
  }
  // The run dir is forgotten only once it is gone: a record kept is a
  // delete the next run tries again, a record dropped is a leak.
  std::error_code ec;
  fs::remove_all(vm_run_dir(name), ec);
  if (ec) throw HostError("VM/" + name + ": removing " + vm_run_dir(name) + ": " + ec.message(), ErrorCode::Io);
  locked([&] {
    store_.transaction([&] {
      if (rec) {
        store_.forget_owned("tap", rec->tap);
        store_.forget_owned("disk", rec->disk_path);
        store_.forget_owned("disk", disk_path(name));
      }
      store_.forget_owned("rundir", vm_run_dir(name));
      store_.release_ips(name);
      store_.delete_runtime(name);
      store_.delete_restart_record(name);
      store_.delete_vm(name);
      store_.delete_resource("VM", name);
    });
  });
  if (!rec) return ActionOutcome::noted("deleted");
  auto facts = stop_facts(stopped);
  facts["tap"] = rec->tap;
  facts["ip"] = rec->ip;
  return ActionOutcome{{{"vm.delete", "", "removed", facts}}, ""};
}

}  // namespace banger
