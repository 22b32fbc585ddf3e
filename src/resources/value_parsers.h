// Parsers for the value shapes manifests use (sizes, durations, addresses,
// digests, URLs, interface names): the `parse` of field-table entries.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "resources/doc_reader.h"
#include "resources/netaddr.h"

namespace banger {

bool parse_nonempty_string(const YAML::Node& n, std::string& out, DocReader::Problem& p);
/// A size given as "512Mi" or as a byte count, whole MiB, within [min, max].
DocReader::Parse<uint64_t> size_parser(uint64_t min, uint64_t max);
/// Seconds as an integer, or "120s"/"2m"/"1m30s"; 1s to 1h.
bool parse_duration_field(const YAML::Node& n, std::chrono::milliseconds& out, DocReader::Problem& p);
bool parse_ip(const YAML::Node& n, Ipv4& out, DocReader::Problem& p);
/// An IPv4 CIDR from /16 to /29 without host bits.
bool parse_subnet(const YAML::Node& n, Cidr& out, DocReader::Problem& p);
/// 64 hex digits, lowercased.
bool parse_sha256(const YAML::Node& n, std::string& out, DocReader::Problem& p);
bool parse_url(const YAML::Node& n, std::string& out, DocReader::Problem& p);
bool parse_bridge(const YAML::Node& n, std::string& out, DocReader::Problem& p);

}  // namespace banger
