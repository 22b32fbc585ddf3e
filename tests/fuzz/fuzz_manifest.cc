// Fuzz target: manifest text through everything `banger validate -f -` runs
// on it (YAML parse, decode, defaults, cross-references, disk checks). The
// contract is diagnostics, never an exception: load_texts throws nothing for
// bad input, so any exception escaping here is a bug and crashes the fuzzer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "resources/manifest_loader.h"
#include "resources/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banger::SourceText src{"fuzz.yaml", "/nonexistent-fuzz-dir",
                         std::string(reinterpret_cast<const char*>(data), size)};
  banger::LoadResult r = banger::load_texts({src});
  // What load_manifests does after reading, minus the stat() of local
  // artifact files (no files exist under the fake base_dir anyway).
  banger::validate_disks(r.set, r.diags);
  return 0;
}
