#include "logon.h"

#include <wincred.h>

#include <vector>

#include "module.h"
#include "win_util.h"

namespace gh {

using gatehouse::cp::AccountName;
using gatehouse::cp::KerbLogon;
using gatehouse::cp::PasswordCheck;
using gatehouse::cp::PasswordVerdict;
using gatehouse::cp::PointerWidth;
using gatehouse::cp::Usage;

PasswordCheck checkPassword(const AccountName& account, const std::wstring& password, DWORD* win32Error) {
  const std::wstring user = widen(account.user);
  const std::wstring domain = widen(account.domain);
  PasswordCheck result{PasswordVerdict::Refused, ""};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool interactive = attempt == 1;
    HANDLE token = nullptr;
    const BOOL ok = LogonUserW(user.c_str(), account.upn ? nullptr : domain.c_str(), password.c_str(),
                               interactive ? LOGON32_LOGON_INTERACTIVE : LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT, &token);
    const DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    if (token != nullptr) CloseHandle(token);
    if (win32Error) *win32Error = err;
    result = gatehouse::cp::classifyLogonUserError(err, interactive);
    logLine(std::string("password check (") + (interactive ? "interactive" : "network") + ") for " +
            (account.upn ? account.user : account.domain + "\\" + account.user) + ": Windows error " + std::to_string(err));
    if (result.verdict != PasswordVerdict::TryInteractive) break;
  }
  return result;
}

HRESULT lookupPackage(const std::string& packageName, ULONG* package) {
  if (packageName.empty() || packageName.size() > 127) return E_INVALIDARG;
  HANDLE lsa = nullptr;
  NTSTATUS st = LsaConnectUntrusted(&lsa);
  if (st < 0) return HRESULT_FROM_NT(st);
  char name[128] = {};
  memcpy(name, packageName.data(), packageName.size());
  LSA_STRING s;
  s.Buffer = name;
  s.Length = static_cast<USHORT>(packageName.size());
  s.MaximumLength = static_cast<USHORT>(packageName.size() + 1);
  ULONG id = 0;
  st = LsaLookupAuthenticationPackage(lsa, &s, &id);
  LsaDeregisterLogonProcess(lsa);
  if (st < 0) return HRESULT_FROM_NT(st);
  *package = id;
  return S_OK;
}

PointerWidth serializationWidth(Usage usage, DWORD flags) {
#ifdef _WIN64
  if (usage == Usage::CredUI && (flags & CREDUIWIN_PACK_32_WOW) != 0) return PointerWidth::Bits32;
  return PointerWidth::Bits64;
#else
  (void)usage;
  (void)flags;
  return PointerWidth::Bits32;
#endif
}

namespace {

/// Wine (the CI smoke test) has no CredProtectW/CredIsProtectedW (they abort the process there);
/// on Windows they always exist.
bool credProtectAvailable() {
  static const bool wine = GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != nullptr;
  return !wine;
}

/// CredProtect'ed copy of the password (LSA unprotects it); the plain one when protection is not
/// available or the password already is protected.
std::wstring protectedPassword(const std::wstring& password) {
  if (password.empty() || !credProtectAvailable()) return password;
  std::wstring plain = password;
  CRED_PROTECTION_TYPE type = CredUnprotected;
  if (CredIsProtectedW(&plain[0], &type) && type != CredUnprotected) return plain;
  DWORD chars = 0;
  CredProtectW(FALSE, &plain[0], static_cast<DWORD>(plain.size() + 1), nullptr, &chars, &type);
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || chars == 0 || chars > 4096) return plain;
  std::wstring out(chars, L'\0');
  if (!CredProtectW(FALSE, &plain[0], static_cast<DWORD>(plain.size() + 1), &out[0], &chars, &type)) {
    wipe(out);
    return plain;
  }
  wipe(plain);
  out.resize(wcsnlen(out.c_str(), out.size()));
  return out;
}

std::wstring unprotectedPassword(const std::wstring& password) {
  std::wstring p = password;
  CRED_PROTECTION_TYPE type = CredUnprotected;
  if (p.empty() || !credProtectAvailable() || !CredIsProtectedW(&p[0], &type) || type == CredUnprotected) return p;
  DWORD chars = 0;
  CredUnprotectW(FALSE, &p[0], static_cast<DWORD>(p.size() + 1), nullptr, &chars);
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || chars == 0 || chars > 4096) return p;
  std::wstring out(chars, L'\0');
  if (!CredUnprotectW(FALSE, &p[0], static_cast<DWORD>(p.size() + 1), &out[0], &chars)) {
    wipe(out);
    return p;
  }
  wipe(p);
  out.resize(wcsnlen(out.c_str(), out.size()));
  return out;
}

}  // namespace

HRESULT serializeLogon(const AccountName& account, const std::wstring& password, Usage usage, DWORD flags, const std::string& packageName,
                       CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* out) {
  if (out == nullptr) return E_INVALIDARG;
  ULONG package = 0;
  HRESULT hr = lookupPackage(packageName, &package);
  if (FAILED(hr)) return hr;
  KerbLogon logon;
  logon.type = usage == Usage::Unlock ? gatehouse::cp::KerbSubmitType::WorkstationUnlockLogon : gatehouse::cp::KerbSubmitType::InteractiveLogon;
  logon.domain = toU16(widen(account.upn ? std::string() : account.domain));
  logon.user = toU16(widen(account.user));
  std::wstring pw = usage == Usage::CredUI ? password : protectedPassword(password);
  logon.password = toU16(pw);
  wipe(pw);
  std::vector<std::uint8_t> packed;
  const bool ok = gatehouse::cp::packKerbLogon(logon, serializationWidth(usage, flags), packed);
  gatehouse::cp::secureWipe(logon);
  if (!ok) return E_INVALIDARG;
  const std::size_t size = packed.size();
  auto* buf = static_cast<byte*>(CoTaskMemAlloc(size));
  if (buf == nullptr) {
    gatehouse::cp::secureWipe(packed);
    return E_OUTOFMEMORY;
  }
  memcpy(buf, packed.data(), size);
  gatehouse::cp::secureWipe(packed);
  out->ulAuthenticationPackage = package;
  out->clsidCredentialProvider = CLSID_GatehouseProvider;
  out->cbSerialization = static_cast<ULONG>(size);
  out->rgbSerialization = buf;
  return S_OK;
}

bool unpackSerialization(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION& in, Usage usage, DWORD flags, KerbLogon& out, std::string* error) {
  if (in.rgbSerialization == nullptr || in.cbSerialization == 0) {
    if (error) *error = "empty serialization";
    return false;
  }
  if (!gatehouse::cp::unpackKerbLogon(in.rgbSerialization, in.cbSerialization, serializationWidth(usage, flags), out, error)) return false;
  std::wstring pw = fromU16(out.password);
  gatehouse::cp::secureWipe(out.password);
  std::wstring plain = unprotectedPassword(pw);
  wipe(pw);
  out.password = toU16(plain);
  wipe(plain);
  return true;
}

}  // namespace gh
