// DLL entry points: DllMain, DllGetClassObject, DllCanUnloadNow, DllRegisterServer,
// DllUnregisterServer, and the class factory for the provider and the filter.
//
// Registration (all under HKLM; the 32-bit DLL, registered with SysWOW64\regsvr32, lands in the
// 32-bit view, where 32-bit programs' CredUI finds it):
//   SOFTWARE\Classes\CLSID\{34b716b4-...}\InprocServer32   (default) = DLL path, ThreadingModel = Apartment
//   SOFTWARE\Classes\CLSID\{ef7948f1-...}\InprocServer32   the filter, same DLL
//   SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\Credential Providers\{34b716b4-...}
//   SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\Credential Provider Filters\{ef7948f1-...}
//   SOFTWARE\Gatehouse   settings, created with defaults where missing (64-bit view), never overwritten
//                        (HideOtherProviders = 1: other tiles hidden at logon and unlock)
// DllUnregisterServer removes the first four and leaves the settings.
#include <new>
#include <string>

#include "module.h"
#include "win_util.h"

namespace gh {

HINSTANCE g_module = nullptr;
static LONG g_refs = 0;

void dllAddRef() { InterlockedIncrement(&g_refs); }
void dllRelease() { InterlockedDecrement(&g_refs); }

namespace {

class ClassFactory final : public IClassFactory {
 public:
  explicit ClassFactory(const CLSID& clsid) : clsid_(clsid) { dllAddRef(); }

  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override {
    if (ppv == nullptr) return E_POINTER;
    if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_IClassFactory)) {
      *ppv = static_cast<IClassFactory*>(this);
      AddRef();
      return S_OK;
    }
    *ppv = nullptr;
    return E_NOINTERFACE;
  }
  IFACEMETHODIMP_(ULONG) AddRef() override { return static_cast<ULONG>(InterlockedIncrement(&ref_)); }
  IFACEMETHODIMP_(ULONG) Release() override {
    const LONG n = InterlockedDecrement(&ref_);
    if (n == 0) delete this;
    return static_cast<ULONG>(n);
  }
  IFACEMETHODIMP CreateInstance(IUnknown* outer, REFIID riid, void** ppv) override {
    if (ppv == nullptr) return E_POINTER;
    *ppv = nullptr;
    if (outer != nullptr) return CLASS_E_NOAGGREGATION;
    if (IsEqualCLSID(clsid_, CLSID_GatehouseProvider)) return createProvider(riid, ppv);
    if (IsEqualCLSID(clsid_, CLSID_GatehouseFilter)) return createFilter(riid, ppv);
    return CLASS_E_CLASSNOTAVAILABLE;
  }
  IFACEMETHODIMP LockServer(BOOL lock) override {
    if (lock) dllAddRef();
    else dllRelease();
    return S_OK;
  }

 private:
  ~ClassFactory() { dllRelease(); }
  LONG ref_ = 1;
  CLSID clsid_;
};

const wchar_t* kProvidersKey = L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers\\";
const wchar_t* kFiltersKey = L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Provider Filters\\";

LONG setString(HKEY root, const std::wstring& path, const wchar_t* name, const std::wstring& value, REGSAM extra = 0) {
  HKEY k = nullptr;
  LONG rc = RegCreateKeyExW(root, path.c_str(), 0, nullptr, 0, KEY_WRITE | extra, nullptr, &k, nullptr);
  if (rc != ERROR_SUCCESS) return rc;
  rc = RegSetValueExW(k, name, 0, REG_SZ, reinterpret_cast<const BYTE*>(value.c_str()), static_cast<DWORD>((value.size() + 1) * sizeof(wchar_t)));
  RegCloseKey(k);
  return rc;
}

/// Creates a settings value only when it does not exist yet.
void defaultValue(HKEY k, const wchar_t* name, DWORD type, const void* data, DWORD bytes) {
  if (RegQueryValueExW(k, name, nullptr, nullptr, nullptr, nullptr) == ERROR_FILE_NOT_FOUND) {
    RegSetValueExW(k, name, 0, type, static_cast<const BYTE*>(data), bytes);
  }
}

void writeDefaultSettings() {
  HKEY k = nullptr;
  if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, kSettingsKey, 0, nullptr, 0, KEY_READ | KEY_WRITE | KEY_WOW64_64KEY, nullptr, &k, nullptr) != ERROR_SUCCESS)
    return;
  const wchar_t pipe[] = L"\\\\.\\pipe\\gatehouse";
  const wchar_t closed[] = L"closed";
  const wchar_t system[] = L"S-1-5-18";
  const wchar_t empty[] = L"\0";
  const DWORD zero = 0;
  const DWORD one = 1;
  defaultValue(k, L"PipePath", REG_SZ, pipe, sizeof pipe);
  defaultValue(k, L"FailMode", REG_SZ, closed, sizeof closed);
  defaultValue(k, L"RdpOnly", REG_DWORD, &zero, sizeof zero);
  defaultValue(k, L"HideOtherProviders", REG_DWORD, &one, sizeof one);
  defaultValue(k, L"ShowCodeField", REG_DWORD, &zero, sizeof zero);
  defaultValue(k, L"ExcludedAccounts", REG_MULTI_SZ, empty, sizeof empty);
  defaultValue(k, L"PipeServerSid", REG_SZ, system, sizeof system);
  RegCloseKey(k);
}

HRESULT registerClass(const std::wstring& clsid, const std::wstring& name, const std::wstring& dll) {
  const std::wstring base = L"SOFTWARE\\Classes\\CLSID\\" + clsid;
  LONG rc = setString(HKEY_LOCAL_MACHINE, base, nullptr, name);
  if (rc == ERROR_SUCCESS) rc = setString(HKEY_LOCAL_MACHINE, base + L"\\InprocServer32", nullptr, dll);
  if (rc == ERROR_SUCCESS) rc = setString(HKEY_LOCAL_MACHINE, base + L"\\InprocServer32", L"ThreadingModel", L"Apartment");
  return HRESULT_FROM_WIN32(rc);
}

}  // namespace

bool filterRegistered() {
  HKEY k = nullptr;
  const std::wstring path = std::wstring(kFiltersKey) + kFilterClsidString;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, KEY_READ, &k) != ERROR_SUCCESS) return false;
  RegCloseKey(k);
  return true;
}

}  // namespace gh

using namespace gh;

extern "C" BOOL WINAPI DllMain(HINSTANCE hinst, DWORD reason, LPVOID) {
  if (reason == DLL_PROCESS_ATTACH) {
    g_module = hinst;
    DisableThreadLibraryCalls(hinst);
  }
  return TRUE;
}

extern "C" HRESULT __stdcall DllGetClassObject(REFCLSID rclsid, REFIID riid, void** ppv) {
  if (ppv == nullptr) return E_POINTER;
  *ppv = nullptr;
  if (!IsEqualCLSID(rclsid, CLSID_GatehouseProvider) && !IsEqualCLSID(rclsid, CLSID_GatehouseFilter)) return CLASS_E_CLASSNOTAVAILABLE;
  auto* f = new (std::nothrow) ClassFactory(rclsid);
  if (f == nullptr) return E_OUTOFMEMORY;
  const HRESULT hr = f->QueryInterface(riid, ppv);
  f->Release();
  return hr;
}

extern "C" HRESULT __stdcall DllCanUnloadNow() { return g_refs == 0 ? S_OK : S_FALSE; }

extern "C" HRESULT __stdcall DllRegisterServer() {
  wchar_t path[MAX_PATH * 2] = {};
  const DWORD n = GetModuleFileNameW(g_module, path, MAX_PATH * 2);
  if (n == 0 || n >= MAX_PATH * 2) return HRESULT_FROM_WIN32(GetLastError());
  HRESULT hr = registerClass(kProviderClsidString, L"Gatehouse Credential Provider", path);
  if (SUCCEEDED(hr)) hr = registerClass(kFilterClsidString, L"Gatehouse Credential Provider Filter", path);
  if (SUCCEEDED(hr)) hr = HRESULT_FROM_WIN32(setString(HKEY_LOCAL_MACHINE, std::wstring(kProvidersKey) + kProviderClsidString, nullptr, L"Gatehouse Credential Provider"));
  if (SUCCEEDED(hr)) hr = HRESULT_FROM_WIN32(setString(HKEY_LOCAL_MACHINE, std::wstring(kFiltersKey) + kFilterClsidString, nullptr, L"Gatehouse Credential Provider Filter"));
  if (SUCCEEDED(hr)) writeDefaultSettings();
  return hr;
}

extern "C" HRESULT __stdcall DllUnregisterServer() {
  const std::wstring keys[] = {std::wstring(kProvidersKey) + kProviderClsidString, std::wstring(kFiltersKey) + kFilterClsidString,
                               std::wstring(L"SOFTWARE\\Classes\\CLSID\\") + kProviderClsidString,
                               std::wstring(L"SOFTWARE\\Classes\\CLSID\\") + kFilterClsidString};
  HRESULT result = S_OK;
  for (const auto& k : keys) {
    const LONG rc = RegDeleteTreeW(HKEY_LOCAL_MACHINE, k.c_str());
    if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) result = HRESULT_FROM_WIN32(rc);
  }
  return result;
}
