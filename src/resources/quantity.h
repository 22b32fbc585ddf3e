// Sizes ("512Mi", "2Gi", "1.5Gi", or a byte count) and durations ("120s",
// "1m30s", "500ms"). Only binary suffixes are accepted: "512M" would be
// 512,000,000 bytes in Kubernetes, which is never what a VM's memory means.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banger {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB, TiB = 1024 * GiB;

/// "512Mi" -> 536870912. A fraction must come out to a whole number of bytes.
std::optional<uint64_t> parse_size(std::string_view s);
/// The largest binary unit that divides exactly: 536870912 -> "512Mi",
/// 1572864 -> "1536Ki", 1000 -> "1000".
std::string format_size(uint64_t bytes);

/// Go-style: one or more <number><unit> with units ms, s, m, h.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace banger
