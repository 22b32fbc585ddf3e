// `oci:` sources before the diff: each tag resolved to the digest of the
// platform's image manifest, so that a tag that moved is a change the plan
// shows, and what is applied is exactly what was planned (the pull asks for
// that digest, not the tag again).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "drivers/oci_pull.h"
#include "reconciler/desired_state.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

/// Whether any Kernel or Image of `d` comes from a registry.
bool has_oci_sources(const ManifestSet& set);

/// The pull request for an `oci:` source: reference, platform, insecure,
/// size, and the credentials from credentialsFile (else
/// ~/.docker/config.json when present). Throws HostError naming the
/// resource and the file when a credentials file cannot be read.
OciPullRequest oci_request(const std::string& label, const OciSource& s);

/// Fills each oci source's digest from its record in `applied` when the
/// record names the same reference and platform; a source without one keeps
/// "" (shown as unresolved). No network: `diff --against` an export, and the
/// fallback when a registry cannot be asked.
void pin_oci_from_records(ManifestSet& set, const std::map<ResourceKey, ResourceRecord>& applied);

/// Asks each registry (once per distinct reference, concurrently) what the
/// tags name now and fills the digests. A registry that cannot be asked
/// leaves the recorded digest, with a warning in the result; without a
/// record that is an error naming the file, line, resource and field.
struct OciResolution {
  std::vector<std::string> warnings;
  std::vector<std::string> errors;
};
OciResolution resolve_oci_digests(ManifestSet& set, const std::map<ResourceKey, ResourceRecord>& applied);

/// The desired state again with digests filled (the specs show them):
/// pinned from records alone (`online` false) or asked of the registries.
/// Returns `d` untouched when it has no oci source. Throws HostError with
/// every error of resolve_oci_digests.
DesiredState with_oci_digests(DesiredState d, const std::map<ResourceKey, ResourceRecord>& applied, bool online,
                              std::vector<std::string>* warnings);

}  // namespace banger
