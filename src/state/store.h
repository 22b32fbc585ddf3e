// banger's durable records: SQLite (WAL) at STATE_DIR/state.db. Versioned
// schema (PRAGMA user_version) with forward migrations. Writes are batched in
// transaction(); a single call outside one is its own transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "resources/netaddr.h"
#include "state/records.h"

struct sqlite3;

namespace banger {

class Store {
 public:
  static constexpr int kSchemaVersion = 5;

  /// ReadWrite: creates state_dir (0700; root:banger 02750 where that group
  /// exists) when missing, opens/creates state.db in WAL mode and migrates
  /// it. ReadOnly (get, logs, diff and state export run without root): opens
  /// it read-only and never migrates or writes; with no state.db at all, an
  /// empty in-memory database stands in (nothing was applied here). Throws
  /// HostError (not writable, not readable, newer or older schema).
  enum class Access { ReadWrite, ReadOnly };
  explicit Store(const std::string& state_dir, Access access = Access::ReadWrite);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Runs fn in one transaction (nested calls join the outer one); rolls
  /// back and rethrows when fn throws.
  /// Full: the commit is on disk before it returns; for what records
  /// objects banger is about to make. Only the outermost call's level
  /// counts. The WAL is synced after the store is let go (group commit):
  /// workers committing at once share one fsync instead of queueing for
  /// one each. Called while hold() is held, the sync happens under it.
  enum class Sync { Normal, Full };
  void transaction(const std::function<void()>& fn, Sync sync = Sync::Normal);
  /// Holds the store for a sequence of calls, so no other thread's call
  /// lands between them (each call, and transaction(), holds it too).
  [[nodiscard]] std::unique_lock<std::recursive_mutex> hold() { return std::unique_lock(mu_); }
  int schema_version();
  /// Commits whose records were synced to disk (synchronous=FULL) so far.
  int64_t durable_commits() const { return durable_commits_; }
  /// fdatasyncs of the WAL so far; below durable_commits() when commits of
  /// several threads shared one.
  int64_t wal_syncs() const { return wal_syncs_.load(); }
  /// Where a table differs from its record's definition (state/records/):
  /// a column missing on either side or of another SQL type. Empty when the
  /// schema and the records agree, as they must after migrate().
  std::vector<std::string> schema_drift();
  /// SQLite's PRAGMA quick_check: "ok", or what is damaged (for doctor).
  std::string quick_check();

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
  /// Closes every entry of `owner` ("VM/web"): its action just succeeded,
  /// so no step of it is left unfinished.
  void journal_end_owner(const std::string& owner);
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
  void open_read_only(const std::string& state_dir);
  sqlite3* db_ = nullptr;
  // The reconciler's workers share one Store: a call (or a whole
  // transaction) holds this so another thread's writes never land inside it.
  std::recursive_mutex mu_;
  int tx_depth_ = 0;
  bool synced_ = false;  ///< the open outer transaction must be durable
  bool full_pragma_ = false;  ///< ...and commits with synchronous=FULL (no WAL fd)
  int64_t durable_commits_ = 0;
  std::string wal_path_;
  int wal_fd_ = -1;  ///< the -wal file, for fsync; -1 until it can be opened
  std::atomic<uint64_t> commit_seq_{0};  ///< durable commits whose frames are written
  // Group commit: one thread fsyncs the WAL at a time; whoever committed
  // before that fsync began is covered by it.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_seq_ = 0;
  bool syncing_ = false;
  std::atomic<int64_t> wal_syncs_{0};
  /// Returns once commit number `seq` is on disk.
  void sync_wal_through(uint64_t seq);
  /// fn in a synced transaction (record_owned).
  void durable_write(const std::function<void()>& fn);
  void restore_sync();
};

}  // namespace banger
