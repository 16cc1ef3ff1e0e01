#include "offline_seal.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
// After windows.h:
#include <bcrypt.h>
#include <dpapi.h>
#include <aclapi.h>
#include <sddl.h>

#include "win_text.h"

namespace gatehouse::service {

namespace {

/// Told to DPAPI with the data: a blob of another program is not taken for ours.
const std::string kEntropy = "Gatehouse offline logon v1";

/// SYSTEM and administrators only, nothing inherited: the folder and what is created in it,
/// owned by the administrators (an owner may always change the DACL).
const wchar_t* const kFolderSddl = L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
/// The state file itself, whatever folder it is in.
const wchar_t* const kFileSddl = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)";

/// A security descriptor from SDDL, freed with the object.
struct Descriptor {
  PSECURITY_DESCRIPTOR sd = nullptr;
  explicit Descriptor(const wchar_t* sddl) { ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, nullptr); }
  ~Descriptor() {
    if (sd != nullptr) LocalFree(sd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
};

std::wstring folderOf(const std::wstring& path) {
  const auto cut = path.find_last_of(L"\\/");
  return cut == std::wstring::npos ? std::wstring() : path.substr(0, cut);
}

}  // namespace

std::string bcryptPbkdf2(const std::string& password, const std::string& salt, std::uint32_t iterations) {
  BCRYPT_ALG_HANDLE alg = nullptr;
  if (BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, nullptr, BCRYPT_ALG_HANDLE_HMAC_FLAG) < 0) return std::string();
  std::string out(32, '\0');
  const NTSTATUS st = BCryptDeriveKeyPBKDF2(alg, reinterpret_cast<PUCHAR>(const_cast<char*>(password.data())), static_cast<ULONG>(password.size()),
                                            reinterpret_cast<PUCHAR>(const_cast<char*>(salt.data())), static_cast<ULONG>(salt.size()), iterations,
                                            reinterpret_cast<PUCHAR>(out.data()), static_cast<ULONG>(out.size()), 0);
  BCryptCloseAlgorithmProvider(alg, 0);
  return st < 0 ? std::string() : out;
}

std::string defaultOfflineStateFile() {
  wchar_t buf[MAX_PATH];
  const DWORD n = GetEnvironmentVariableW(L"ProgramData", buf, MAX_PATH);
  const std::wstring base = n > 0 && n < MAX_PATH ? std::wstring(buf, n) : std::wstring(L"C:\\ProgramData");
  return narrow(base + L"\\Gatehouse\\offline.bin");
}

bool loadSealed(const std::string& path, std::string& out, std::string* why) {
  out.clear();
  std::string sealed;
  DWORD openError = 0;
  if (!readWholeFile(path, sealed, 64 * 1024 * 1024, &openError)) {
    if (openError == ERROR_FILE_NOT_FOUND || openError == ERROR_PATH_NOT_FOUND) return true;
    if (why) *why = openError != 0 ? windowsError(("reading " + path).c_str(), openError) : "reading " + path + " failed";
    return false;
  }
  DATA_BLOB in{static_cast<DWORD>(sealed.size()), reinterpret_cast<BYTE*>(sealed.data())};
  DATA_BLOB entropy{static_cast<DWORD>(kEntropy.size()), reinterpret_cast<BYTE*>(const_cast<char*>(kEntropy.data()))};
  DATA_BLOB plain{};
  if (!CryptUnprotectData(&in, nullptr, &entropy, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &plain)) {
    if (why) *why = windowsError(("unsealing " + path).c_str(), GetLastError());
    return false;
  }
  out.assign(reinterpret_cast<char*>(plain.pbData), plain.cbData);
  SecureZeroMemory(plain.pbData, plain.cbData);
  LocalFree(plain.pbData);
  return true;
}

bool secureStateFolder(const std::string& path, std::string* why) {
  const std::wstring folder = folderOf(wide(path));
  if (folder.empty()) return true;
  Descriptor d(kFolderSddl);
  if (d.sd == nullptr) {
    if (why) *why = windowsError("security descriptor", GetLastError());
    return false;
  }
  const DWORD attributes = GetFileAttributesW(folder.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    SECURITY_ATTRIBUTES sa{sizeof sa, d.sd, FALSE};
    if (!CreateDirectoryW(folder.c_str(), &sa) && GetLastError() != ERROR_ALREADY_EXISTS) {
      if (why) *why = windowsError(("creating " + narrow(folder)).c_str(), GetLastError());
      return false;
    }
    return true;
  }
  // It was there before us (made by hand for the token file, or by anyone: users may create
  // folders in %ProgramData%). A link elsewhere is refused; otherwise owner and DACL are set.
  if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0 || (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
    if (why) *why = narrow(folder) + " is not a plain folder (a link or a file): offline codes are not kept there";
    return false;
  }
  PSID owner = nullptr;
  PACL dacl = nullptr;
  BOOL present = FALSE, defaulted = FALSE;
  GetSecurityDescriptorOwner(d.sd, &owner, &defaulted);
  GetSecurityDescriptorDacl(d.sd, &present, &dacl, &defaulted);
  const DWORD r = SetNamedSecurityInfoW(const_cast<wchar_t*>(folder.c_str()), SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, owner, nullptr, dacl, nullptr);
  if (r != ERROR_SUCCESS) {
    if (why) *why = windowsError(("securing " + narrow(folder)).c_str(), r);
    return false;
  }
  return true;
}

bool saveSealed(const std::string& path, const std::string& bytes, std::string* why) {
  const std::wstring file = wide(path);
  DATA_BLOB in{static_cast<DWORD>(bytes.size()), reinterpret_cast<BYTE*>(const_cast<char*>(bytes.data()))};
  DATA_BLOB entropy{static_cast<DWORD>(kEntropy.size()), reinterpret_cast<BYTE*>(const_cast<char*>(kEntropy.data()))};
  DATA_BLOB sealed{};
  // Machine scope: the service (SYSTEM) unseals it whoever signs in; the folder's DACL keeps
  // other accounts from the file.
  if (!CryptProtectData(&in, L"Gatehouse offline logon", &entropy, nullptr, nullptr, CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &sealed)) {
    if (why) *why = windowsError("sealing the offline codes", GetLastError());
    return false;
  }
  const std::wstring temp = file + L".new";
  // Its own DACL (SYSTEM and administrators), whatever the folder would hand down; moved over the
  // old file, it keeps it.
  Descriptor d(kFileSddl);
  SECURITY_ATTRIBUTES sa{sizeof sa, d.sd, FALSE};
  DeleteFileW(temp.c_str());
  HANDLE f = CreateFileW(temp.c_str(), GENERIC_WRITE, 0, d.sd != nullptr ? &sa : nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  bool ok = f != INVALID_HANDLE_VALUE;
  DWORD error = ok ? 0 : GetLastError();
  if (ok) {
    DWORD wrote = 0;
    ok = WriteFile(f, sealed.pbData, sealed.cbData, &wrote, nullptr) && wrote == sealed.cbData && FlushFileBuffers(f);
    if (!ok) error = GetLastError();
    CloseHandle(f);
  }
  LocalFree(sealed.pbData);
  if (ok && !MoveFileExW(temp.c_str(), file.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    ok = false;
    error = GetLastError();
  }
  if (!ok) {
    DeleteFileW(temp.c_str());
    if (why) *why = windowsError(("writing " + path).c_str(), error);
  }
  return ok;
}

}  // namespace gatehouse::service
