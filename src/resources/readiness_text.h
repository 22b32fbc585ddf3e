// A VM's readiness as one line of text ("tcp:22 timeout 2m",
// "http:80/healthz timeout 1m", "none"): how diff shows it and the state DB
// keeps it, and the way back.
#pragma once

#include <optional>
#include <string>

#include "resources/model.h"

namespace banger {

std::string format_readiness(const Readiness& r);
/// nullopt for "none", "" and anything format_readiness does not write.
std::optional<Readiness> parse_readiness(const std::string& text);

}  // namespace banger
