// The Windows side of offline logon (native/service/core/offline_logon.h): PBKDF2 by BCrypt, and
// the state file sealed with DPAPI in machine scope, in a folder only SYSTEM and administrators
// can open (%ProgramData%\Gatehouse by default).
#pragma once

#include <cstdint>
#include <string>

namespace gatehouse::service {

/// PBKDF2-HMAC-SHA256 -> 32 bytes (BCryptDeriveKeyPBKDF2); empty when BCrypt fails.
std::string bcryptPbkdf2(const std::string& password, const std::string& salt, std::uint32_t iterations);

/// %ProgramData%\Gatehouse\offline.bin.
std::string defaultOfflineStateFile();

/// The default folder (%ProgramData%\Gatehouse): created, or if it exists owned by the
/// administrators with a protected DACL for SYSTEM and administrators only; a link is refused.
bool secureStateFolder(const std::string& path, std::string* why);

/// Reads and unseals the file: true with `out` (empty when there is no file yet); false with `why`.
bool loadSealed(const std::string& path, std::string& out, std::string* why);
/// Seals `bytes` and replaces the file (written beside it, then moved over it); false with `why`.
bool saveSealed(const std::string& path, const std::string& bytes, std::string* why);

}  // namespace gatehouse::service
