// Small Windows helpers: UTF-8 <-> UTF-16, CoTaskMem strings, registry values, a log file.
#pragma once

#include <string>
#include <vector>

#include "cp_interfaces.h"

namespace gh {

std::wstring widen(const std::string& utf8);
std::string narrow(const std::wstring& wide);
std::u16string toU16(const std::wstring& w);
std::wstring fromU16(const std::u16string& s);

/// A CoTaskMemAlloc'ed copy for LogonUI to free (E_OUTOFMEMORY on failure).
HRESULT dupString(const std::wstring& s, LPWSTR* out);

/// Wipes a wide string's characters (SecureZeroMemory) and empties it.
void wipe(std::wstring& s);

/// Case-insensitive comparison of UTF-8 strings the way Windows compares account names.
bool equalsIgnoreCaseW(const std::string& a, const std::string& b);

/// This computer's NetBIOS name.
std::string computerName();

/// True in a Remote Desktop session.
bool remoteSession();

/// True when Windows booted in safe mode.
bool safeMode();

/// Registry values under HKLM\SOFTWARE\Gatehouse, always read from the 64-bit view so the 32-bit
/// DLL (CredUI in 32-bit programs) sees the same settings.
constexpr const wchar_t* kSettingsKey = L"SOFTWARE\\Gatehouse";
bool readString(const wchar_t* name, std::wstring& out);
bool readDword(const wchar_t* name, DWORD& out);
/// A REG_MULTI_SZ (or REG_SZ, read as one string) value; `multi` says which it was.
bool readMultiString(const wchar_t* name, std::vector<std::wstring>& out, bool* multi = nullptr);

/// Appends a line to the file named by the LogFile setting (off when unset). Never pass secrets.
void logLine(const std::string& line);

}  // namespace gh
