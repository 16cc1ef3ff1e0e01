#include "kerb_pack.h"

#include <cstring>

namespace gatehouse::cp {
namespace {

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v & 0xFF);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = static_cast<std::uint8_t>((v >> (8 * k)) & 0xFF);
}

void putPtr(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, PointerWidth w) {
  for (std::size_t k = 0; k < static_cast<std::size_t>(w); ++k) b[at + k] = static_cast<std::uint8_t>((v >> (8 * k)) & 0xFF);
}

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) | (static_cast<std::uint32_t>(p[2]) << 16) |
         (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t getPtr(const std::uint8_t* p, PointerWidth w) {
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(w); ++k) v |= static_cast<std::uint64_t>(p[k]) << (8 * k);
  return v;
}

}  // namespace

KerbLayout kerbLayout(PointerWidth width) {
  if (width == PointerWidth::Bits64) return KerbLayout{8, 24, 40, 8, 56, 64};
  return KerbLayout{4, 12, 20, 4, 28, 36};
}

bool packKerbLogon(const KerbLogon& logon, PointerWidth width, std::vector<std::uint8_t>& out) {
  const KerbLayout L = kerbLayout(width);
  const std::u16string* strings[3] = {&logon.domain, &logon.user, &logon.password};
  const std::size_t fields[3] = {L.domain, L.user, L.password};
  std::size_t total = L.size;
  for (const auto* s : strings) {
    if (s->size() > 32767) return false;
    total += s->size() * 2;
  }
  secureWipe(out);
  out.assign(total, 0);
  put32(out, 0, static_cast<std::uint32_t>(logon.type));
  std::size_t at = L.size;
  for (int k = 0; k < 3; ++k) {
    const std::u16string& s = *strings[k];
    const auto bytes = static_cast<std::uint16_t>(s.size() * 2);
    put16(out, fields[k], bytes);      // Length
    put16(out, fields[k] + 2, bytes);  // MaximumLength
    putPtr(out, fields[k] + L.bufferField, at, width);
    for (char16_t c : s) {
      out[at++] = static_cast<std::uint8_t>(c & 0xFF);
      out[at++] = static_cast<std::uint8_t>(c >> 8);
    }
  }
  put32(out, L.logonId, logon.logonIdLow);
  put32(out, L.logonId + 4, static_cast<std::uint32_t>(logon.logonIdHigh));
  return true;
}

bool unpackKerbLogon(const std::uint8_t* data, std::size_t size, PointerWidth width, KerbLogon& out, std::string* error) {
  const KerbLayout L = kerbLayout(width);
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return false;
  };
  // A KERB_INTERACTIVE_LOGON without the LogonId is valid too (logon, not unlock).
  const std::size_t minSize = L.logonId;
  if (data == nullptr || size < minSize) return fail("buffer shorter than KERB_INTERACTIVE_LOGON");
  const std::uint32_t type = get32(data);
  if (type != static_cast<std::uint32_t>(KerbSubmitType::InteractiveLogon) && type != static_cast<std::uint32_t>(KerbSubmitType::WorkstationUnlockLogon)) {
    return fail("not an interactive or unlock logon");
  }
  out.type = static_cast<KerbSubmitType>(type);
  std::u16string* strings[3] = {&out.domain, &out.user, &out.password};
  const std::size_t fields[3] = {L.domain, L.user, L.password};
  for (int k = 0; k < 3; ++k) {
    const std::uint16_t len = get16(data + fields[k]);
    const std::uint64_t off = getPtr(data + fields[k] + L.bufferField, width);
    if (len % 2 != 0) return fail("odd string length");
    if (len == 0) {
      strings[k]->clear();
      continue;
    }
    if (off < minSize || off > size || size - off < len) return fail("string outside the buffer");
    strings[k]->resize(len / 2);
    for (std::size_t i = 0; i < len / 2; ++i) (*strings[k])[i] = static_cast<char16_t>(get16(data + off + 2 * i));
  }
  if (size >= L.size) {
    out.logonIdLow = get32(data + L.logonId);
    out.logonIdHigh = static_cast<std::int32_t>(get32(data + L.logonId + 4));
  } else {
    out.logonIdLow = 0;
    out.logonIdHigh = 0;
  }
  return true;
}

void secureWipe(void* p, std::size_t n) {
  volatile unsigned char* v = static_cast<volatile unsigned char*>(p);
  while (n--) *v++ = 0;
}

void secureWipe(std::u16string& s) {
  if (!s.empty()) secureWipe(&s[0], s.size() * sizeof(char16_t));
  s.clear();
}

void secureWipe(std::string& s) {
  if (!s.empty()) secureWipe(&s[0], s.size());
  s.clear();
}

void secureWipe(std::vector<std::uint8_t>& v) {
  if (!v.empty()) secureWipe(v.data(), v.size());
  v.clear();
}

void secureWipe(KerbLogon& logon) {
  secureWipe(logon.password);
  secureWipe(logon.user);
  secureWipe(logon.domain);
}

}  // namespace gatehouse::cp
