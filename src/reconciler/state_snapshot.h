// A host's ObservedState as a file: what `banger state export` writes and
// `banger diff --against FILE` reads, so that CI can compute the plan a host
// would get without root and without the host. Pure: text in, text out.
//
// The file carries both banger's records (applied resources, VM records,
// processes) and the host facts diff looks at (links, nft rules, which
// processes are alive, which disks exist, IPv4 forwarding), so a diff against
// an export is the live diff of that host at the moment of the export.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "reconciler/git_status.h"
#include "reconciler/observed_state.h"
#include "resources/model.h"

namespace banger {

inline constexpr const char* kStateExportKind = "StateExport";
inline constexpr int kStateExportSchemaVersion = 1;

/// Who took the export, when and where; informational, never diffed.
struct SnapshotInfo {
  std::string host;            ///< hostname
  std::string exported_at;     ///< RFC 3339 UTC, "2026-11-25T14:50:00Z"
  std::string banger_version;  ///< "0.1.0"
  std::string state_dir;       ///< "/var/lib/banger"
  /// The host's node name and labels (host.node in the file), which
  /// `fleet diff` places the manifests for. Absent from exports written
  /// before fleets: a reader falls back to --node-name or the hostname.
  std::optional<NodeIdentity> node;
  /// The commit `watch --git` converged this host to (metadata.source);
  /// written for people and CI, not read back.
  std::optional<GitStatus> source;
};

struct StateSnapshot {
  SnapshotInfo info;
  ObservedState observed;
};

/// A file that is not a readable export of a version this banger knows.
/// The message starts with the file's name.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Only the links diff can look at: the bridges of applied networks, the
/// recorded taps, and the links those taps are attached to. The rest of the
/// host's interfaces (docker, physical, ...) stay out of the file.
LinkSnapshot links_for_export(const ObservedState& o);

/// Deterministic JSON (sorted by key at every level, 2-space indent, final
/// newline), with apiVersion, kind, schemaVersion, metadata, records, host.
/// Links are filtered with links_for_export().
std::string snapshot_to_json(const ObservedState& o, const SnapshotInfo& info);

/// Parses what snapshot_to_json wrote. `file` names the source in errors.
/// Throws SnapshotError for malformed JSON, another kind or apiVersion, an
/// unknown schemaVersion, or a field of the wrong type (named by its path,
/// such as "records.vms[2].ip").
StateSnapshot snapshot_from_json(const std::string& text, const std::string& file);

}  // namespace banger
