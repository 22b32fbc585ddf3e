// banger's durable records: SQLite (WAL) at STATE_DIR/state.db. Versioned
// schema (PRAGMA user_version) with forward migrations. Writes are batched in
// transaction(); a single call outside one is its own transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "resources/netaddr.h"

struct sqlite3;

namespace banger {

/// A resource as last applied: what diff compares the manifests with.
struct ResourceRecord {
  std::string kind;  ///< "VM"
  std::string name;
  std::string spec_hash;
  int64_t generation = 1;  ///< +1 each time spec_hash changes
  std::string source_file;
  int64_t applied_at = 0;  ///< unix seconds
  std::string spec_json;   ///< flat {"field": "value"} of the applied spec, for field-level diffs
};

/// What a VM keeps across restarts and re-applies.
struct VmRecord {
  std::string name;
  std::string network;
  std::string ip;
  std::string mac;
  std::string tap;
  std::string disk_path;
};

/// The running process of a VM, kept apart from the durable record.
struct VmRuntime {
  std::string name;
  int64_t pid = 0;
  uint64_t start_time = 0;
  std::string exe;
  std::string api_socket;
  std::string log_path;
  std::string hypervisor;  ///< "firecracker", "qemu"
  int64_t started_at = 0;
  std::string accel;       ///< QEMU's "kvm" or "tcg"; "" for Firecracker (and records before schema 5)
  /// "firecracker", "qemu/tcg", "qemu/kvm": what get -o wide shows.
  std::string label() const { return accel.empty() ? hypervisor : hypervisor + "/" + accel; }
};

struct IpAllocation {
  std::string network;
  std::string ip;
  std::string vm;
};

/// A host object banger made (or is about to make): recorded before it is
/// created, forgotten after it is removed, so nothing is ever leaked.
struct OwnedObject {
  std::string type;   ///< "bridge", "tap", "disk", "rundir", "nft-table"
  std::string id;     ///< interface name, path, ...
  std::string owner;  ///< "VM/web-1", "Network/fleet"
};

/// An intended host change, written before the host is touched and removed
/// when done; entries left by a crash tell the next run what to finish.
struct JournalEntry {
  int64_t id = 0;
  std::string action;  ///< "create", "delete", "start", "stop", ...
  std::string type;
  std::string object_id;
  std::string owner;
  int64_t created_at = 0;
};

/// Restarts of a VM whose process ended on its own (restartPolicy).
struct RestartRecord {
  std::string name;
  int64_t restarts = 0;     ///< all restarts, for `get`
  int64_t consecutive = 0;  ///< in a row without 10 min up: sets the back-off
  std::string last_exit;    ///< "exited 1", "killed by signal 9", "unknown"
  int64_t last_exit_at = 0; ///< unix ms
};

/// A path artifact's sha256 as last computed. It holds while the file keeps
/// this size and mtime, so an unchanged file is never hashed twice.
struct ArtifactCheck {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;
  int64_t checked_at = 0;  ///< unix seconds
};

/// A verified download in STATE/artifacts/sha256/<sha256>.
struct ArtifactRecord {
  std::string sha256;
  std::string url;
  int64_t size = 0;
  int64_t fetched_at = 0;  ///< unix seconds
};

/// A VM's root disk as made: the method (what `diskStrategy: auto` chose is
/// kept, so it never changes silently), its size, and for a device-mapper
/// snapshot the image under its shared read-only loop device and its COW file.
struct DiskRecord {
  std::string vm;
  std::string method;  ///< "reflink", "copy", "snapshot"
  int64_t size = 0;    ///< bytes
  std::string image;   ///< the image file the disk was made from
  std::string cow;     ///< snapshot: the copy-on-write file; "" otherwise
};

class Store {
 public:
  static constexpr int kSchemaVersion = 5;

  /// Creates state_dir (0700) when missing, opens/creates state.db in WAL
  /// mode and migrates it. Throws HostError (e.g. not writable, newer schema).
  explicit Store(const std::string& state_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Runs fn in one transaction (nested calls join the outer one); rolls
  /// back and rethrows when fn throws.
  void transaction(const std::function<void()>& fn);
  int schema_version();

  std::vector<ResourceRecord> resources();
  std::optional<ResourceRecord> resource(const std::string& kind, const std::string& name);
  /// Inserts or replaces; generation is bumped here when spec_hash changed.
  void put_resource(ResourceRecord r);
  void delete_resource(const std::string& kind, const std::string& name);

  std::vector<VmRecord> vms();
  std::optional<VmRecord> vm(const std::string& name);
  void put_vm(const VmRecord& v);
  void delete_vm(const std::string& name);

  std::vector<VmRuntime> runtimes();
  std::optional<VmRuntime> runtime(const std::string& name);
  void put_runtime(const VmRuntime& r);
  void delete_runtime(const std::string& name);

  /// The VM's address on `network`: its existing allocation when it has one
  /// (sticky), else `wanted` when given and free, else the lowest free host
  /// address after the gateway. Throws HostError when the subnet is full or
  /// `wanted` belongs to another VM.
  Ipv4 allocate_ip(const std::string& network, const Cidr& subnet, const std::string& vm,
                   std::optional<Ipv4> wanted);
  std::optional<Ipv4> allocated_ip(const std::string& network, const std::string& vm);
  void release_ips(const std::string& vm);  ///< every network
  std::vector<IpAllocation> allocations();

  void record_owned(const OwnedObject& o);
  void forget_owned(const std::string& type, const std::string& id);
  std::vector<OwnedObject> owned(const std::string& type = "");

  int64_t journal_begin(const std::string& action, const std::string& type,
                        const std::string& object_id, const std::string& owner);
  void journal_end(int64_t id);
  std::vector<JournalEntry> pending_journal();

  // --- restarts (restart_records.cc) ---
  std::vector<RestartRecord> restart_records();
  void put_restart_record(const RestartRecord& r);  ///< inserts or replaces
  void delete_restart_record(const std::string& name);

  // --- artifacts (artifact_records.cc) ---
  std::optional<ArtifactCheck> artifact_check(const std::string& path);
  void put_artifact_check(const ArtifactCheck& c);  ///< inserts or replaces
  std::optional<ArtifactRecord> artifact(const std::string& sha256);
  std::vector<ArtifactRecord> artifacts();
  void put_artifact(const ArtifactRecord& a);  ///< inserts or replaces
  void delete_artifact(const std::string& sha256);

  // --- disks (disk_records.cc) ---
  std::vector<DiskRecord> disk_records();
  std::optional<DiskRecord> disk_record(const std::string& vm);
  void put_disk_record(const DiskRecord& d);  ///< inserts or replaces
  void delete_disk_record(const std::string& vm);
  /// Snapshot disks over `image`: the reference count of its base loop device.
  int64_t snapshot_users(const std::string& image);

 private:
  void migrate();
  sqlite3* db_ = nullptr;
  // The reconciler's workers share one Store: a call (or a whole
  // transaction) holds this so another thread's writes never land inside it.
  std::recursive_mutex mu_;
  int tx_depth_ = 0;
};

}  // namespace banger
