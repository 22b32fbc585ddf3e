// Standard base64 (RFC 4648 section 4), as SSH keys and PEM-like files use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace banger {

/// Padded with '=', no line breaks.
std::string base64_encode(std::string_view bytes);

/// Strict, as OpenSSH's b64_pton for a key: length a multiple of 4, '=' only
/// at the end, unused low bits zero, nothing outside the alphabet (no
/// whitespace). A lenient decoder would let two spellings name one key.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace banger
