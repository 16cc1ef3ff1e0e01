#include "win_util.h"

#include <mutex>

#include "../core/policy.h"
#include "gatehouse/utf.h"

namespace gh {

std::wstring widen(const std::string& utf8) {
  const std::u16string w = gatehouse::utf8ToUtf16(utf8);
  return std::wstring(w.begin(), w.end());
}

std::string narrow(const std::wstring& wide) { return gatehouse::utf16ToUtf8(toU16(wide)); }

std::u16string toU16(const std::wstring& w) { return std::u16string(w.begin(), w.end()); }
std::wstring fromU16(const std::u16string& s) { return std::wstring(s.begin(), s.end()); }

HRESULT dupString(const std::wstring& s, LPWSTR* out) {
  if (out == nullptr) return E_INVALIDARG;
  const size_t bytes = (s.size() + 1) * sizeof(wchar_t);
  auto* p = static_cast<wchar_t*>(CoTaskMemAlloc(bytes));
  if (p == nullptr) {
    *out = nullptr;
    return E_OUTOFMEMORY;
  }
  memcpy(p, s.c_str(), bytes);
  *out = p;
  return S_OK;
}

void wipe(std::wstring& s) {
  if (!s.empty()) SecureZeroMemory(&s[0], s.size() * sizeof(wchar_t));
  s.clear();
}

bool equalsIgnoreCaseW(const std::string& a, const std::string& b) {
  const std::wstring wa = widen(a), wb = widen(b);
  return CompareStringOrdinal(wa.c_str(), static_cast<int>(wa.size()), wb.c_str(), static_cast<int>(wb.size()), TRUE) == CSTR_EQUAL;
}

std::string computerName() {
  wchar_t buf[MAX_COMPUTERNAME_LENGTH + 1] = {};
  DWORD n = MAX_COMPUTERNAME_LENGTH + 1;
  if (!GetComputerNameW(buf, &n)) return ".";
  return narrow(std::wstring(buf, n));
}

bool remoteSession() { return GetSystemMetrics(SM_REMOTESESSION) != 0; }

bool safeMode() { return GetSystemMetrics(SM_CLEANBOOT) != 0; }

namespace {
HKEY openSettings() {
  HKEY k = nullptr;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, kSettingsKey, 0, KEY_READ | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS) return nullptr;
  return k;
}
}  // namespace

bool readString(const wchar_t* name, std::wstring& out) {
  HKEY k = openSettings();
  if (k == nullptr) return false;
  DWORD type = 0, bytes = 0;
  bool ok = false;
  if (RegQueryValueExW(k, name, nullptr, &type, nullptr, &bytes) == ERROR_SUCCESS && (type == REG_SZ || type == REG_EXPAND_SZ) &&
      bytes <= 64 * 1024) {
    std::wstring v(bytes / sizeof(wchar_t) + 1, L'\0');
    if (RegQueryValueExW(k, name, nullptr, &type, reinterpret_cast<BYTE*>(&v[0]), &bytes) == ERROR_SUCCESS) {
      v.resize(wcsnlen(v.c_str(), v.size()));
      out = v;
      ok = true;
    }
  }
  RegCloseKey(k);
  return ok;
}

bool readDword(const wchar_t* name, DWORD& out) {
  HKEY k = openSettings();
  if (k == nullptr) return false;
  DWORD type = 0, v = 0, bytes = sizeof v;
  bool ok = RegQueryValueExW(k, name, nullptr, &type, reinterpret_cast<BYTE*>(&v), &bytes) == ERROR_SUCCESS && type == REG_DWORD;
  if (ok) {
    out = v;
  } else if (type == REG_SZ) {
    // The MSI writes numbers as text (so that an upgrade can read them back as they are).
    wchar_t text[16] = {0};
    DWORD textBytes = sizeof text - sizeof(wchar_t);
    std::uint32_t n = 0;
    if (RegQueryValueExW(k, name, nullptr, &type, reinterpret_cast<BYTE*>(text), &textBytes) == ERROR_SUCCESS && type == REG_SZ &&
        gatehouse::cp::parseNumberText(narrow(std::wstring(text)), n)) {
      out = n;
      ok = true;
    }
  }
  RegCloseKey(k);
  return ok;
}

bool readMultiString(const wchar_t* name, std::vector<std::wstring>& out, bool* multi) {
  HKEY k = openSettings();
  if (k == nullptr) return false;
  DWORD type = 0, bytes = 0;
  bool ok = false;
  if (RegQueryValueExW(k, name, nullptr, &type, nullptr, &bytes) == ERROR_SUCCESS && (type == REG_MULTI_SZ || type == REG_SZ) &&
      bytes <= 256 * 1024) {
    std::wstring v(bytes / sizeof(wchar_t) + 2, L'\0');
    if (RegQueryValueExW(k, name, nullptr, &type, reinterpret_cast<BYTE*>(&v[0]), &bytes) == ERROR_SUCCESS) {
      out.clear();
      if (multi != nullptr) *multi = type == REG_MULTI_SZ;
      size_t i = 0;
      const size_t end = bytes / sizeof(wchar_t);
      while (i < end) {
        const size_t len = wcsnlen(v.c_str() + i, end - i);
        if (len == 0) {
          if (type == REG_SZ) break;
          ++i;
          continue;
        }
        out.emplace_back(v.c_str() + i, len);
        i += len + 1;
      }
      ok = true;
    }
  }
  RegCloseKey(k);
  return ok;
}

void logLine(const std::string& line) {
  static std::mutex m;
  std::wstring path;
  if (!readString(L"LogFile", path) || path.empty()) return;
  std::lock_guard<std::mutex> lock(m);
  HANDLE h = CreateFileW(path.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return;
  SYSTEMTIME t;
  GetSystemTime(&t);
  char stamp[64];
  wsprintfA(stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%lu] ", t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds,
            GetCurrentProcessId());
  const std::string text = std::string(stamp) + line + "\r\n";
  DWORD written = 0;
  WriteFile(h, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
  CloseHandle(h);
}

}  // namespace gh
