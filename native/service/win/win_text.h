// Small Windows helpers of the service: UTF-8 <-> UTF-16, Windows error texts, whole files.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string>

#include "gatehouse/utf.h"

namespace gatehouse::service {

inline std::wstring wide(const std::string& s) {
  const std::u16string w = utf8ToUtf16(s);
  return std::wstring(w.begin(), w.end());
}

inline std::string narrow(const std::wstring& w) { return utf16ToUtf8(std::u16string(w.begin(), w.end())); }

/// "what: the system's text (code)"; for WinHTTP codes the module's messages are asked too.
inline std::string windowsError(const char* what, DWORD code) {
  wchar_t* buf = nullptr;
  HMODULE winhttp = GetModuleHandleW(L"winhttp.dll");
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | (winhttp != nullptr ? FORMAT_MESSAGE_FROM_HMODULE : 0), winhttp, code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) {
    text = narrow(std::wstring(buf, n));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.')) text.pop_back();
  }
  if (buf != nullptr) LocalFree(buf);
  return std::string(what) + ": " + (text.empty() ? "Windows error" : text) + " (" + std::to_string(code) + ")";
}

/// Reads a whole file of at most `maxBytes` into `out` (the read buffer is wiped: tokens pass
/// here). False when it cannot be opened or read, or is longer; `error` gets the Windows error
/// of the open (0 when the open worked).
inline bool readWholeFile(const std::string& path, std::string& out, std::size_t maxBytes, DWORD* error = nullptr) {
  out.clear();
  if (error != nullptr) *error = 0;
  HANDLE f = CreateFileW(wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (f == INVALID_HANDLE_VALUE) {
    if (error != nullptr) *error = GetLastError();
    return false;
  }
  char buf[4096];
  DWORD got = 0;
  bool ok = true;
  while ((ok = ReadFile(f, buf, sizeof buf, &got, nullptr) != FALSE) && got > 0) {
    out.append(buf, got);
    if (out.size() > maxBytes) {
      ok = false;
      break;
    }
  }
  SecureZeroMemory(buf, sizeof buf);
  CloseHandle(f);
  return ok;
}

}  // namespace gatehouse::service
