// Fuzz target: the state-export reader behind `banger diff --against FILE`,
// which reads whatever file CI hands it. Its contract is SnapshotError for a
// file it cannot use; any other exception (a json::exception, out_of_range,
// ...) would reach the user as a bare library message, so it crashes here.
#include <cstddef>
#include <cstdint>
#include <string>

#include "reconciler/state_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    banger::StateSnapshot s = banger::snapshot_from_json(text, "fuzz.json");
    // A file that was accepted must export again: diff and `state export`
    // share these records, so the writer must cope with whatever the reader let in.
    (void)banger::snapshot_to_json(s.observed, s.info);
  } catch (const banger::SnapshotError&) {
  }
  return 0;
}
