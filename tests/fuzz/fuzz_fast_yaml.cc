// Fuzz target: FastYaml against yaml-cpp. Whatever text FastYaml accepts,
// yaml-cpp must parse without an error to the very same events (marks,
// tags, styles, values, documents); a difference aborts with both logs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "yaml_differential.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string fast, cpp;
  if (!banger::test::fast_log(text, fast)) return 0;  // declined: yaml-cpp's alone
  const bool ok = banger::test::yaml_cpp_log(text, cpp);
  if (ok && cpp == fast) return 0;
  std::fprintf(stderr, "FastYaml differs from yaml-cpp on:\n%s\nyaml-cpp:\n%s\nFastYaml:\n%s\n",
               banger::test::show(text).c_str(), ok ? cpp.c_str() : "error\n", fast.c_str());
  std::abort();
}
