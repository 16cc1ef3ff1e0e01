// Small Windows helpers of the service: UTF-8 <-> UTF-16 and Windows error texts.
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

}  // namespace gatehouse::service
