// UTF-8 <-> UTF-16 conversion and validation for the pipe protocol (JSON is UTF-8 on the wire,
// Windows hands us UTF-16). Invalid input never throws: it becomes U+FFFD where converting, and
// `false` where validating.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse {

constexpr char32_t kReplacementChar = 0xFFFD;

/// Appends the UTF-8 encoding of `cp`; surrogates and values above U+10FFFF become U+FFFD.
void appendUtf8(std::string& out, char32_t cp);

/// Decodes one code point starting at `s[i]` and advances `i` past it. Returns false (and
/// advances by one byte) on an invalid, overlong or truncated sequence or an encoded surrogate.
bool decodeUtf8(std::string_view s, std::size_t& i, char32_t& cp);

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

/// UTF-8 to UTF-16; each invalid byte becomes U+FFFD.
std::u16string utf8ToUtf16(std::string_view s);

/// UTF-16 to UTF-8; an unpaired surrogate becomes U+FFFD.
std::string utf16ToUtf8(std::u16string_view s);

}  // namespace gatehouse
