// KERB_INTERACTIVE_UNLOCK_LOGON as a byte layout, packed the way LogonUI hands it to LSA: the
// structure, then the three strings, each UNICODE_STRING.Buffer holding the string's offset from
// the start of the buffer instead of a pointer. Written without Windows headers so it is unit
// tested on Linux for both layouts; the DLL checks with static_assert that these offsets match
// the compiler's structure.
//
// From Microsoft's documentation of KERB_INTERACTIVE_LOGON / KERB_INTERACTIVE_UNLOCK_LOGON:
//   KERB_LOGON_SUBMIT_TYPE MessageType;     // KerbInteractiveLogon = 2, KerbWorkstationUnlockLogon = 7
//   UNICODE_STRING LogonDomainName;         // { USHORT Length; USHORT MaximumLength; PWSTR Buffer; }
//   UNICODE_STRING UserName;
//   UNICODE_STRING Password;
//   LUID LogonId;                           // { DWORD LowPart; LONG HighPart; } (unlock only)
// 64-bit: MessageType@0, strings @8/@24/@40 (16 bytes each, Buffer at +8), LogonId@56, size 64.
// 32-bit: MessageType@0, strings @4/@12/@20 (8 bytes each, Buffer at +4), LogonId@28, size 36.
// A 64-bit provider serving a 32-bit CredUI caller (CREDUIWIN_PACK_32_WOW) packs the 32-bit one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse::cp {

enum class KerbSubmitType : std::uint32_t { InteractiveLogon = 2, WorkstationUnlockLogon = 7 };

enum class PointerWidth : std::size_t { Bits32 = 4, Bits64 = 8 };

struct KerbLayout {
  std::size_t domain, user, password;  // offsets of the three UNICODE_STRINGs
  std::size_t bufferField;             // offset of Buffer inside a UNICODE_STRING
  std::size_t logonId;                 // offset of LogonId
  std::size_t size;                    // sizeof(KERB_INTERACTIVE_UNLOCK_LOGON)
};

KerbLayout kerbLayout(PointerWidth width);

struct KerbLogon {
  KerbSubmitType type = KerbSubmitType::InteractiveLogon;
  std::u16string domain;
  std::u16string user;
  std::u16string password;
  std::uint32_t logonIdLow = 0;
  std::int32_t logonIdHigh = 0;
};

/// Packs `logon` into `out` (replacing its content). False when a string is longer than a
/// UNICODE_STRING holds (32767 UTF-16 units).
bool packKerbLogon(const KerbLogon& logon, PointerWidth width, std::vector<std::uint8_t>& out);

/// Reads a packed buffer (e.g. the one RDP hands over after NLA). Checks the message type (2 or 7),
/// that every string lies inside the buffer after the structure, and has an even length.
bool unpackKerbLogon(const std::uint8_t* data, std::size_t size, PointerWidth width, KerbLogon& out, std::string* error = nullptr);

/// Overwrites memory in a way the compiler may not drop (SecureZeroMemory on Windows).
void secureWipe(void* p, std::size_t n);
void secureWipe(std::u16string& s);
void secureWipe(std::string& s);
void secureWipe(std::vector<std::uint8_t>& v);
void secureWipe(KerbLogon& logon);

}  // namespace gatehouse::cp
