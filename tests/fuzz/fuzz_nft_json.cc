// Fuzz target: the parser of libnftables' JSON listing of table `ip banger`
// (NatDriver::observe). nft's output is not ours: a newer nft or a person's
// hand-made rules can put any shape there. The contract is HostError for a
// listing it cannot read; anything else escaping crashes here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/host_error.h"
#include "drivers/nat_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)banger::nat::parse_listing(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const banger::HostError&) {
  }
  return 0;
}
