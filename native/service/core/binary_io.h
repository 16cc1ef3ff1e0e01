// The little-endian binary form the offline logon state is kept in (offline_store, offline_logon):
// fixed-width integers and length-prefixed bytes, read back with bounds checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gatehouse::service::binary {

inline void putU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

inline void putI64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((u >> (8 * i)) & 0xFF);
}

inline void putBytes(std::string& out, const std::string& b) {
  putU32(out, static_cast<std::uint32_t>(b.size()));
  out += b;
}

/// Reads from `at` on; after any read past the end `ok` is false (and stays false).
struct Reader {
  const std::string& s;
  std::size_t at = 0;
  bool ok = true;

  std::uint64_t le(int n) {
    if (!ok || at + static_cast<std::size_t>(n) > s.size()) return ok = false, 0;
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    at += static_cast<std::size_t>(n);
    return v;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  /// Length-prefixed bytes of at most `max`.
  std::string bytes(std::size_t max) {
    const std::uint32_t n = u32();
    if (!ok || n > max || at + n > s.size()) return ok = false, std::string();
    std::string b = s.substr(at, n);
    at += n;
    return b;
  }
};

}  // namespace gatehouse::service::binary
