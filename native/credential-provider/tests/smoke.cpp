// Smoke test of the credential provider DLL, run under Wine in CI (and usable on Windows):
//
//   gatehouse-smoke.exe PATH\gatehouse-credential-provider-x64.dll
//
// LoadLibrary()s the DLL, checks its four exports, registers and unregisters it, gets the class
// factory with DllGetClassObject, creates the ICredentialProvider, sets CPUS_LOGON, enumerates
// the field descriptors and the credentials, and prints what it found. Then it drives a whole
// logon against a stand-in Gatehouse endpoint: a named pipe served by a thread of this process
// (not the real agent or `gatehouse serve`): the status line turning "Service Status: OK",
// code_required showing the code field, approval returning a KERB_INTERACTIVE_UNLOCK_LOGON, a
// denial, "enforced" in every authenticate request, HideOtherProviders on by default and the
// "not enforced" status line when it is 0, an untrusted pipe server, no endpoint at all (fail
// closed), RDP credentials handed over by SetSerialization, and the filter.
// Exits 0 when every check passed; the last line is "N passed, N failed".
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "../core/kerb_pack.h"
#include "cp_interfaces.h"
#include <sddl.h>
#include "gatehouse/frame.h"
#include "gatehouse/json.h"
#include "gatehouse/utf.h"

using namespace gh;

namespace {

int g_passed = 0;
int g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
    std::printf("  ok    %s\n", what.c_str());
  } else {
    ++g_failed;
    std::printf("  FAIL  %s\n", what.c_str());
  }
  std::fflush(stdout);
}

std::string narrow(const std::wstring& w) { return gatehouse::utf16ToUtf8(std::u16string(w.begin(), w.end())); }

// ---- registry ----

void setSetting(const wchar_t* name, const std::wstring& value) {
  HKEY k;
  RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Gatehouse", 0, nullptr, 0, KEY_WRITE | KEY_WOW64_64KEY, nullptr, &k, nullptr);
  RegSetValueExW(k, name, 0, REG_SZ, reinterpret_cast<const BYTE*>(value.c_str()), static_cast<DWORD>((value.size() + 1) * 2));
  RegCloseKey(k);
}

void setSetting(const wchar_t* name, DWORD value) {
  HKEY k;
  RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Gatehouse", 0, nullptr, 0, KEY_WRITE | KEY_WOW64_64KEY, nullptr, &k, nullptr);
  RegSetValueExW(k, name, 0, REG_DWORD, reinterpret_cast<const BYTE*>(&value), sizeof value);
  RegCloseKey(k);
}

void deleteSetting(const wchar_t* name) {
  HKEY k;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Gatehouse", 0, KEY_WRITE | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS) return;
  RegDeleteValueW(k, name);
  RegCloseKey(k);
}

/// -1 when absent or not a REG_DWORD.
long long dwordSetting(const wchar_t* name) {
  HKEY k;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Gatehouse", 0, KEY_READ | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS) return -1;
  DWORD type = 0, v = 0, bytes = sizeof v;
  const bool ok = RegQueryValueExW(k, name, nullptr, &type, reinterpret_cast<BYTE*>(&v), &bytes) == ERROR_SUCCESS && type == REG_DWORD;
  RegCloseKey(k);
  return ok ? static_cast<long long>(v) : -1;
}

bool keyExists(const std::wstring& path) {
  HKEY k;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, KEY_READ, &k) != ERROR_SUCCESS) return false;
  RegCloseKey(k);
  return true;
}

std::wstring ownSid() {
  HANDLE token;
  OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token);
  DWORD len = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &len);
  std::vector<BYTE> buf(len);
  GetTokenInformation(token, TokenUser, buf.data(), len, &len);
  CloseHandle(token);
  wchar_t* text = nullptr;
  ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid, &text);
  std::wstring s = text ? text : L"";
  if (text) LocalFree(text);
  return s;
}

const char* wineVersion() {
  using Fn = const char*(__cdecl*)();
  auto fn = reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version")));
  return fn ? fn() : nullptr;
}

// ---- a stand-in Gatehouse endpoint on a named pipe, served by a thread of this program ----

class FakeEndpoint {
 public:
  explicit FakeEndpoint(std::wstring name) : name_(std::move(name)) {}
  bool start() {
    thread_ = CreateThread(nullptr, 0, &FakeEndpoint::acceptLoop, this, 0, nullptr);
    return thread_ != nullptr;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  const std::wstring& name() const { return name_; }

 private:
  static DWORD WINAPI acceptLoop(LPVOID p) {
    auto* self = static_cast<FakeEndpoint*>(p);
    for (;;) {
      HANDLE h = CreateNamedPipeW(self->name_.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                  PIPE_UNLIMITED_INSTANCES, 65536, 65536, 0, nullptr);
      if (h == INVALID_HANDLE_VALUE) return 1;
      if (!ConnectNamedPipe(h, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED) {
        CloseHandle(h);
        continue;
      }
      auto* ctx = new std::pair<FakeEndpoint*, HANDLE>(self, h);
      HANDLE t = CreateThread(nullptr, 0, &FakeEndpoint::serve, ctx, 0, nullptr);
      if (t) CloseHandle(t);
    }
  }

  static DWORD WINAPI serve(LPVOID p) {
    auto* ctx = static_cast<std::pair<FakeEndpoint*, HANDLE>*>(p);
    FakeEndpoint* self = ctx->first;
    HANDLE h = ctx->second;
    delete ctx;
    gatehouse::FrameDecoder d;
    char buf[4096];
    for (;;) {
      std::string payload;
      const auto st = d.next(payload);
      if (st == gatehouse::FrameDecoder::Status::Error) break;
      if (st == gatehouse::FrameDecoder::Status::Frame) {
        bool ok = true;
        for (const std::string& reply : self->answer(payload)) {
          std::string frame;
          gatehouse::encodeFrame(reply, frame);
          DWORD written = 0;
          if (!WriteFile(h, frame.data(), static_cast<DWORD>(frame.size()), &written, nullptr)) ok = false;
        }
        if (!ok) break;
        continue;
      }
      DWORD n = 0;
      if (!ReadFile(h, buf, sizeof buf, &n, nullptr) || n == 0) break;
      d.feed(buf, n);
    }
    FlushFileBuffers(h);
    DisconnectNamedPipe(h);
    CloseHandle(h);
    return 0;
  }

  // The frames answering one request: the final reply, after an interim one for number matching.
  std::vector<std::string> answer(const std::string& payload) {
    auto v = gatehouse::parseJson(payload);
    const auto id = v ? v->getInteger("id").value_or(0) : 0;
    const gatehouse::JsonValue* nm = v ? v->get("number_matching") : nullptr;
    // nina's logon is number-matched: the number first, then the approval.
    if (v && v->getString("username").value_or("") == "nina" && nm != nullptr && nm->isBool() && nm->asBool()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(payload);
      }
      return {gatehouse::JsonObjectWriter().field("id", id).field("result", "number").field("number", std::int64_t(47)).field("message", "On your phone, pick 47 to approve this sign-in.").finish(),
              gatehouse::JsonObjectWriter().field("id", id).field("result", "approved").field("message", "").finish()};
    }
    return {finalAnswer(payload)};
  }

  std::string finalAnswer(const std::string& payload) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(payload);
    }
    auto v = gatehouse::parseJson(payload);
    const auto id = v ? v->getInteger("id").value_or(0) : 0;
    const std::string op = v ? v->getString("op").value_or("") : "";
    gatehouse::JsonObjectWriter w;
    w.field("id", id);
    if (op == "health") return w.field("status", "ok").field("message", "").finish();
    const std::string user = v->getString("username").value_or("");
    const auto code = v->getString("code");
    if (user == "alice" && !code) return w.field("result", "code_required").field("message", "Enter the code from your app").finish();
    if (user == "alice" && *code == "123456") return w.field("result", "approved").field("message", "").finish();
    if (user == "alice") return w.field("result", "denied").field("message", "Wrong code").finish();
    if (user == "carol") return w.field("result", "approved").field("message", "").finish();
    return w.field("result", "denied").field("message", "Denied on the phone").finish();
  }

  std::wstring name_;
  HANDLE thread_ = nullptr;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// ---- event sinks ----

class ProviderEvents final : public ICredentialProviderEvents {
 public:
  std::atomic<int> changed{0};
  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override {
    if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_ICredentialProviderEvents)) {
      *ppv = this;
      AddRef();
      return S_OK;
    }
    *ppv = nullptr;
    return E_NOINTERFACE;
  }
  IFACEMETHODIMP_(ULONG) AddRef() override { return ++ref_; }
  IFACEMETHODIMP_(ULONG) Release() override { return --ref_; }
  IFACEMETHODIMP CredentialsChanged(UINT_PTR) override {
    ++changed;
    return S_OK;
  }
  std::atomic<long> ref_{1};
};

class CredentialEvents final : public ICredentialProviderCredentialEvents {
 public:
  std::vector<std::string> log;
  CREDENTIAL_PROVIDER_FIELD_STATE codeState = CPFS_HIDDEN;
  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override {
    if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_ICredentialProviderCredentialEvents)) {
      *ppv = this;
      AddRef();
      return S_OK;
    }
    *ppv = nullptr;
    return E_NOINTERFACE;
  }
  IFACEMETHODIMP_(ULONG) AddRef() override { return ++ref_; }
  IFACEMETHODIMP_(ULONG) Release() override { return --ref_; }
  IFACEMETHODIMP SetFieldState(ICredentialProviderCredential*, DWORD id, CREDENTIAL_PROVIDER_FIELD_STATE s) override {
    if (id == 4) codeState = s;
    log.push_back("state " + std::to_string(id) + "=" + std::to_string(s));
    return S_OK;
  }
  IFACEMETHODIMP SetFieldInteractiveState(ICredentialProviderCredential*, DWORD id, CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE s) override {
    log.push_back("interactive " + std::to_string(id) + "=" + std::to_string(s));
    return S_OK;
  }
  IFACEMETHODIMP SetFieldString(ICredentialProviderCredential*, DWORD id, LPCWSTR psz) override {
    log.push_back("string " + std::to_string(id) + "=" + narrow(psz ? psz : L""));
    return S_OK;
  }
  IFACEMETHODIMP SetFieldCheckbox(ICredentialProviderCredential*, DWORD, BOOL, LPCWSTR) override { return S_OK; }
  IFACEMETHODIMP SetFieldBitmap(ICredentialProviderCredential*, DWORD, HBITMAP) override { return S_OK; }
  IFACEMETHODIMP SetFieldComboBoxSelectedItem(ICredentialProviderCredential*, DWORD, DWORD) override { return S_OK; }
  IFACEMETHODIMP DeleteFieldComboBoxItem(ICredentialProviderCredential*, DWORD, DWORD) override { return S_OK; }
  IFACEMETHODIMP AppendFieldComboBoxItem(ICredentialProviderCredential*, DWORD, LPCWSTR) override { return S_OK; }
  IFACEMETHODIMP SetFieldSubmitButton(ICredentialProviderCredential*, DWORD, DWORD adj) override {
    log.push_back("submit next to " + std::to_string(adj));
    return S_OK;
  }
  IFACEMETHODIMP OnCreatingWindow(HWND* hwnd) override {
    *hwnd = nullptr;
    return E_NOTIMPL;
  }
  std::atomic<long> ref_{1};
};

// ---- helpers around the provider ----

using GetClassObjectFn = HRESULT(__stdcall*)(REFCLSID, REFIID, void**);
using PlainFn = HRESULT(__stdcall*)();

struct Dll {
  HMODULE module = nullptr;
  GetClassObjectFn getClassObject = nullptr;
  PlainFn canUnloadNow = nullptr, registerServer = nullptr, unregisterServer = nullptr;
};

template <typename T>
T* create(const Dll& dll, const CLSID& clsid, const IID& iid) {
  IClassFactory* factory = nullptr;
  if (FAILED(dll.getClassObject(clsid, IID_IClassFactory, reinterpret_cast<void**>(&factory))) || !factory) return nullptr;
  T* obj = nullptr;
  factory->CreateInstance(nullptr, iid, reinterpret_cast<void**>(&obj));
  factory->Release();
  return obj;
}

std::wstring stringValue(ICredentialProviderCredential* c, DWORD id) {
  LPWSTR s = nullptr;
  if (FAILED(c->GetStringValue(id, &s)) || !s) return L"<none>";
  std::wstring v = s;
  CoTaskMemFree(s);
  return v;
}

const char* typeName(CREDENTIAL_PROVIDER_FIELD_TYPE t) {
  switch (t) {
    case CPFT_LARGE_TEXT: return "large text";
    case CPFT_SMALL_TEXT: return "small text";
    case CPFT_EDIT_TEXT: return "edit text";
    case CPFT_PASSWORD_TEXT: return "password";
    case CPFT_TILE_IMAGE: return "tile image";
    case CPFT_SUBMIT_BUTTON: return "submit button";
    default: return "other";
  }
}

struct Serialized {
  CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE response = CPGSR_NO_CREDENTIAL_NOT_FINISHED;
  CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION cs{};
  std::wstring text;
  CREDENTIAL_PROVIDER_STATUS_ICON icon = CPSI_NONE;
  HRESULT hr = E_FAIL;
};

Serialized submit(ICredentialProviderCredential* c) {
  Serialized r;
  LPWSTR text = nullptr;
  r.hr = c->GetSerialization(&r.response, &r.cs, &text, &r.icon);
  if (text) {
    r.text = text;
    CoTaskMemFree(text);
  }
  return r;
}

/// Calls GetCredentialCount (which refreshes the status field) until the status reads `want`.
bool waitForStatus(ICredentialProvider* p, ICredentialProviderCredential* c, const std::wstring& want, DWORD ms) {
  const DWORD start = GetTickCount();
  for (;;) {
    DWORD count, def;
    BOOL autoLogon;
    p->GetCredentialCount(&count, &def, &autoLogon);
    if (stringValue(c, 6) == want) return true;
    if (GetTickCount() - start > ms) return false;
    Sleep(50);
  }
}

std::wstring statusAfterStart(const Dll& dll, DWORD waitMs) {
  auto* p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
  if (!p) return L"<no provider>";
  p->SetUsageScenario(CPUS_LOGON, 0);
  ICredentialProviderCredential* c = nullptr;
  DWORD count, def;
  BOOL autoLogon;
  p->GetCredentialCount(&count, &def, &autoLogon);
  p->GetCredentialAt(0, &c);
  std::wstring last;
  const DWORD start = GetTickCount();
  do {
    Sleep(100);
    p->GetCredentialCount(&count, &def, &autoLogon);
    last = stringValue(c, 6);
  } while (last.rfind(L"Service Status: checking...", 0) == 0 && GetTickCount() - start < waitMs);
  c->Release();
  p->Release();
  return last;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc < 2) {
    std::printf("usage: gatehouse-smoke DLL\n");
    return 64;
  }
  std::printf("Gatehouse credential provider smoke test (%s, %s%s)\n", sizeof(void*) == 8 ? "x64" : "x86", wineVersion() ? "Wine " : "Windows",
              wineVersion() ? wineVersion() : "");
  Dll dll;
  dll.module = LoadLibraryW(argv[1]);
  check(dll.module != nullptr, "LoadLibrary " + narrow(argv[1]));
  if (!dll.module) {
    std::printf("LoadLibrary failed: %lu\n%d passed, %d failed\n", GetLastError(), g_passed, g_failed);
    return 1;
  }
  dll.getClassObject = reinterpret_cast<GetClassObjectFn>(reinterpret_cast<void*>(GetProcAddress(dll.module, "DllGetClassObject")));
  dll.canUnloadNow = reinterpret_cast<PlainFn>(reinterpret_cast<void*>(GetProcAddress(dll.module, "DllCanUnloadNow")));
  dll.registerServer = reinterpret_cast<PlainFn>(reinterpret_cast<void*>(GetProcAddress(dll.module, "DllRegisterServer")));
  dll.unregisterServer = reinterpret_cast<PlainFn>(reinterpret_cast<void*>(GetProcAddress(dll.module, "DllUnregisterServer")));
  check(dll.getClassObject && dll.canUnloadNow && dll.registerServer && dll.unregisterServer,
        "exports DllGetClassObject, DllCanUnloadNow, DllRegisterServer, DllUnregisterServer");
  if (!dll.getClassObject || !dll.canUnloadNow || !dll.registerServer || !dll.unregisterServer) {
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return 1;
  }

  // Registration.
  const std::wstring clsidKey = std::wstring(L"SOFTWARE\\Classes\\CLSID\\") + kProviderClsidString + L"\\InprocServer32";
  const std::wstring cpKey = std::wstring(L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers\\") + kProviderClsidString;
  const std::wstring filterKey =
      std::wstring(L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Provider Filters\\") + kFilterClsidString;
  deleteSetting(L"HideOtherProviders");
  check(dll.registerServer() == S_OK, "DllRegisterServer");
  check(dwordSetting(L"HideOtherProviders") == 1, "DllRegisterServer writes the default HideOtherProviders = 1 (REG_DWORD)");
  check(keyExists(clsidKey) && keyExists(cpKey) && keyExists(filterKey), "CLSID, Credential Providers and Credential Provider Filters keys written");
  check(dll.unregisterServer() == S_OK, "DllUnregisterServer");
  check(!keyExists(clsidKey) && !keyExists(cpKey) && !keyExists(filterKey), "registration keys removed");
  // Registered again for what follows: "enforced" needs the filter's registration (removed at the end).
  check(dll.registerServer() == S_OK && keyExists(filterKey), "registered again for the provider checks");

  // The stand-in endpoint, trusted by SID (under Wine nothing runs as LocalSystem).
  const std::wstring pipe = L"\\\\.\\pipe\\gatehouse-smoke-" + std::to_wstring(GetCurrentProcessId());
  FakeEndpoint endpoint(pipe);
  check(endpoint.start(), "in-process stand-in endpoint (a thread of this program) listening on " + narrow(pipe));
  setSetting(L"PipePath", pipe);
  setSetting(L"PipeServerSid", ownSid());
  setSetting(L"FailMode", std::wstring(L"closed"));
  setSetting(L"RdpOnly", 0);
  deleteSetting(L"HideOtherProviders");  // absent: the default (on) applies
  setSetting(L"ShowCodeField", 0);
  setSetting(L"DefaultDomain", std::wstring(L"CORP"));
  // The default is Windows' Negotiate package; Wine's LSA only knows Kerberos (checked below).
  setSetting(L"AuthenticationPackage", std::wstring(wineVersion() ? L"Kerberos" : L"Negotiate"));

  IClassFactory* factory = nullptr;
  check(dll.getClassObject(CLSID_GatehouseProvider, IID_IClassFactory, reinterpret_cast<void**>(&factory)) == S_OK && factory,
        "DllGetClassObject(CLSID_GatehouseProvider)");
  void* none = nullptr;
  const GUID other = {0x12345678, 0x1234, 0x1234, {1, 2, 3, 4, 5, 6, 7, 8}};
  check(dll.getClassObject(other, IID_IClassFactory, &none) == CLASS_E_CLASSNOTAVAILABLE, "unknown CLSID refused");
  ICredentialProvider* provider = nullptr;
  check(factory && factory->CreateInstance(nullptr, IID_ICredentialProvider, reinterpret_cast<void**>(&provider)) == S_OK && provider,
        "CreateInstance(ICredentialProvider)");
  if (factory) factory->Release();
  if (!provider) {
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return 1;
  }
  check(dll.canUnloadNow() == S_FALSE, "DllCanUnloadNow is S_FALSE while a provider lives");
  check(provider->SetUsageScenario(CPUS_LOGON, 0) == S_OK, "SetUsageScenario(CPUS_LOGON)");
  ProviderEvents pevents;
  check(provider->Advise(&pevents, 42) == S_OK, "Advise");

  DWORD fields = 0;
  const HRESULT fieldsHr = provider->GetFieldDescriptorCount(&fields);
  check(fieldsHr == S_OK && fields == 8, "GetFieldDescriptorCount = " + std::to_string(fields));
  for (DWORD i = 0; i < fields; ++i) {
    CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR* d = nullptr;
    if (provider->GetFieldDescriptorAt(i, &d) == S_OK && d) {
      std::printf("        field %lu: %-13s \"%s\"\n", d->dwFieldID, typeName(d->cpft), narrow(d->pszLabel ? d->pszLabel : L"").c_str());
      if (d->pszLabel) CoTaskMemFree(d->pszLabel);
      CoTaskMemFree(d);
    } else {
      check(false, "GetFieldDescriptorAt(" + std::to_string(i) + ")");
    }
  }
  CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR* bad = nullptr;
  check(provider->GetFieldDescriptorAt(fields, &bad) == E_INVALIDARG, "GetFieldDescriptorAt past the end refused");

  DWORD count = 0, def = 0;
  BOOL autoLogon = TRUE;
  const HRESULT countHr = provider->GetCredentialCount(&count, &def, &autoLogon);
  check(countHr == S_OK && count == 1 && !autoLogon,
        "GetCredentialCount = " + std::to_string(count) + " (the \"Other user\" tile), no automatic logon");
  ICredentialProviderCredential* cred = nullptr;
  check(provider->GetCredentialAt(0, &cred) == S_OK && cred, "GetCredentialAt(0)");
  if (!cred) {
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return 1;
  }
  ICredentialProviderCredential2* cred2 = nullptr;
  check(cred->QueryInterface(IID_ICredentialProviderCredential2, reinterpret_cast<void**>(&cred2)) == S_OK, "credential is an ICredentialProviderCredential2");
  if (cred2) {
    LPWSTR sid = nullptr;
    check(cred2->GetUserSid(&sid) == S_FALSE && sid == nullptr, "GetUserSid: S_FALSE (not bound to a user)");
    cred2->Release();
  }
  CredentialEvents cevents;
  cred->Advise(&cevents);
  BOOL al = TRUE;
  cred->SetSelected(&al);
  for (DWORD i = 0; i < fields; ++i) {
    CREDENTIAL_PROVIDER_FIELD_STATE s;
    CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE is;
    cred->GetFieldState(i, &s, &is);
    std::printf("        field %lu: state %d interactive %d value \"%s\"\n", i, s, is, i == 0 ? "(bitmap)" : narrow(stringValue(cred, i)).c_str());
  }
  CREDENTIAL_PROVIDER_FIELD_STATE codeState;
  CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE codeIs;
  cred->GetFieldState(4, &codeState, &codeIs);
  check(codeState == CPFS_HIDDEN, "code field hidden until a code is needed");
  CREDENTIAL_PROVIDER_FIELD_STATE linkState;
  CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE linkIs;
  cred->GetFieldState(7, &linkState, &linkIs);
  check(linkState == CPFS_HIDDEN && cred->CommandLinkClicked(7) == E_INVALIDARG, "no ChangePasswordUrl: the \"Change password\" link is hidden and does nothing");
  HBITMAP bmp = nullptr;
  check(cred->GetBitmapValue(0, &bmp) == S_OK && bmp, "tile image");
  if (bmp) DeleteObject(bmp);
  DWORD adjacent = 0;
  check(cred->GetSubmitButtonValue(5, &adjacent) == S_OK && adjacent == 3, "submit button next to the password");

  // A first health check in a Wine prefix just made can miss (Wine still starting its services),
  // and the provider then backs off before the next: wait as long as a loaded machine needs.
  const bool statusOk = waitForStatus(provider, cred, L"Service Status: OK", 45000);
  if (!statusOk) std::printf("        status line still \"%s\"\n", narrow(stringValue(cred, 6)).c_str());
  check(statusOk, "status line: Service Status: OK (from the in-process stand-in endpoint over a named pipe)");
  check(stringValue(cred, 6) == L"Service Status: OK", "HideOtherProviders absent (on by default): the exact status text, no \"not enforced\"");
  check(pevents.changed > 0, "CredentialsChanged called when the status changed");

  // A logon with TOTP: code_required, then the code.
  cred->SetStringValue(2, L"alice");
  cred->SetStringValue(3, L"correct horse");
  Serialized r1 = submit(cred);
  std::printf("        first submit: hr 0x%08lx response %d text \"%s\"\n", r1.hr, r1.response, narrow(r1.text).c_str());
  check(r1.hr == S_OK && r1.response == CPGSR_NO_CREDENTIAL_NOT_FINISHED, "alice without a code: not finished");
  check(cevents.codeState == CPFS_DISPLAY_IN_SELECTED_TILE, "code field shown after code_required");
  check(stringValue(cred, 6) == L"Enter the code from your app", "status line shows the endpoint's message");
  cred->GetSubmitButtonValue(5, &adjacent);
  check(adjacent == 4, "submit button moved next to the code");
  cred->SetStringValue(4, L"123456");
  Serialized r2 = submit(cred);
  std::printf("        second submit: hr 0x%08lx response %d text \"%s\" %lu bytes\n", r2.hr, r2.response, narrow(r2.text).c_str(),
              r2.cs.cbSerialization);
  check(r2.hr == S_OK && r2.response == CPGSR_RETURN_CREDENTIAL_FINISHED, "alice with the right code: credential returned");
  check(IsEqualGUID(r2.cs.clsidCredentialProvider, CLSID_GatehouseProvider), "serialization names the Gatehouse provider");
  if (r2.cs.rgbSerialization) {
    gatehouse::cp::KerbLogon k;
    std::string err;
    const auto width = sizeof(void*) == 8 ? gatehouse::cp::PointerWidth::Bits64 : gatehouse::cp::PointerWidth::Bits32;
    const bool ok = gatehouse::cp::unpackKerbLogon(r2.cs.rgbSerialization, r2.cs.cbSerialization, width, k, &err);
    check(ok, "KERB_INTERACTIVE_UNLOCK_LOGON unpacks (" + err + ")");
    check(k.type == gatehouse::cp::KerbSubmitType::InteractiveLogon, "MessageType KerbInteractiveLogon for CPUS_LOGON");
    check(k.domain == u"CORP" && k.user == u"alice", "domain CORP (DefaultDomain), user alice");
    check(!k.password.empty(), "password packed (" + std::to_string(k.password.size()) + " UTF-16 units, CredProtect'ed when available)");
    // Buffer fields hold offsets inside the buffer, not pointers.
    const auto* kil = reinterpret_cast<const KerbInteractiveUnlockLogon*>(r2.cs.rgbSerialization);
    const auto off = reinterpret_cast<std::uintptr_t>(kil->Logon.UserName.Buffer);
    check(off >= sizeof(KerbInteractiveUnlockLogon) && off < r2.cs.cbSerialization, "UNICODE_STRING buffers are offsets into the serialization");
    gatehouse::cp::secureWipe(k);
    SecureZeroMemory(r2.cs.rgbSerialization, r2.cs.cbSerialization);
    CoTaskMemFree(r2.cs.rgbSerialization);
  }
  check(stringValue(cred, 3).empty() && stringValue(cred, 4).empty(), "password and code cleared after use");

  // What crossed the pipe.
  bool sawCode = false, noPassword = true, scenarioLogon = true, enforcedTrue = true;
  int authRequests = 0;
  for (const std::string& q : endpoint.requests()) {
    if (q.find("\"op\":\"authenticate\"") == std::string::npos) continue;
    ++authRequests;
    if (q.find("\"code\":\"123456\"") != std::string::npos) sawCode = true;
    if (q.find("password") != std::string::npos || q.find("correct horse") != std::string::npos) noPassword = false;
    if (q.find("\"scenario\":\"logon\"") == std::string::npos) scenarioLogon = false;
    if (q.find("\"enforced\":true") == std::string::npos) enforcedTrue = false;
    std::printf("        endpoint got: %s\n", q.c_str());
  }
  check(sawCode && noPassword && scenarioLogon, "authenticate requests: scenario logon, the code, never the password");
  check(authRequests == 2 && enforcedTrue, "HideOtherProviders absent: every authenticate request carries \"enforced\":true");

  // A denial.
  cred->SetStringValue(2, L"bob");
  cred->SetStringValue(3, L"pw");
  Serialized r3 = submit(cred);
  // The user name field as typed now, not added to what the last sign-in left there.
  check(stringValue(cred, 2) == L"bob", "the user name field holds what was set last (\"" + narrow(stringValue(cred, 2)) + "\")");
  check(r3.hr == S_OK && r3.response == CPGSR_NO_CREDENTIAL_FINISHED && r3.text == L"Denied on the phone" && r3.icon == CPSI_ERROR,
        "bob denied: no credential, the endpoint's text, error icon (\"" + narrow(r3.text) + "\")");

  // Number matching: the request says the tile can show a number; the interim reply's text goes
  // to the status line while the call waits; the final reply decides.
  cevents.log.clear();
  cred->SetStringValue(2, L"nina");
  cred->SetStringValue(3, L"pw");
  Serialized r4 = submit(cred);
  check(r4.hr == S_OK && r4.response == CPGSR_RETURN_CREDENTIAL_FINISHED, "nina, number-matched and approved: credential returned");
  if (r4.cs.rgbSerialization) CoTaskMemFree(r4.cs.rgbSerialization);
  bool shownNumber = false;
  for (const std::string& l : cevents.log) {
    if (l == "string 6=On your phone, pick 47 to approve this sign-in.") shownNumber = true;
  }
  check(shownNumber, "number matching: the status line showed \"On your phone, pick 47 to approve this sign-in.\" while waiting");
  bool askedWithNumber = false;
  for (const std::string& q : endpoint.requests()) {
    if (q.find("\"username\":\"nina\"") != std::string::npos && q.find("\"number_matching\":true") != std::string::npos) askedWithNumber = true;
  }
  check(askedWithNumber, "number matching: the authenticate request carries \"number_matching\":true");
  cred->UnAdvise();
  cred->Release();

  // RDP after NLA: credentials handed over by SetSerialization are submitted at once.
  {
    gatehouse::cp::KerbLogon k;
    k.domain = u"CORP";
    k.user = u"carol";
    k.password = u"pw";
    std::vector<std::uint8_t> packed;
    gatehouse::cp::packKerbLogon(k, sizeof(void*) == 8 ? gatehouse::cp::PointerWidth::Bits64 : gatehouse::cp::PointerWidth::Bits32, packed);
    CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION in{};
    in.clsidCredentialProvider = CLSID_GatehouseProvider;
    in.cbSerialization = static_cast<ULONG>(packed.size());
    in.rgbSerialization = packed.data();
    check(provider->SetSerialization(&in) == S_OK, "SetSerialization with packed remote credentials");
    check(provider->GetCredentialCount(&count, &def, &autoLogon) == S_OK && autoLogon && def == 0, "automatic logon with the handed-over credentials");
    ICredentialProviderCredential* c = nullptr;
    provider->GetCredentialAt(def, &c);
    check(c && stringValue(c, 2) == L"CORP\\carol", "user name taken from the serialization");
    if (c) {
      Serialized r = submit(c);
      check(r.response == CPGSR_RETURN_CREDENTIAL_FINISHED, "carol approved: credential returned");
      if (r.cs.rgbSerialization) CoTaskMemFree(r.cs.rgbSerialization);
      c->Release();
    }
    CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION foreign = in;
    foreign.clsidCredentialProvider = other;
    check(provider->SetSerialization(&foreign) == E_NOTIMPL, "serialization addressed to another provider ignored");
  }
  provider->UnAdvise();
  provider->Release();

  // Change password is not ours.
  auto* p2 = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
  check(p2 && p2->SetUsageScenario(CPUS_CHANGE_PASSWORD, 0) == E_NOTIMPL, "CPUS_CHANGE_PASSWORD: E_NOTIMPL");
  if (p2) p2->Release();

  // ChangePasswordUrl: a "Change password" link; at logon a click shows the address (no browser
  // is started by LogonUI, which runs as SYSTEM on the secure desktop).
  {
    setSetting(L"ChangePasswordUrl", std::wstring(L"https://sspr.corp.example/reset"));
    auto* p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_LOGON, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    ICredentialProviderCredential* c = nullptr;
    p->GetCredentialAt(0, &c);
    if (c) {
      CREDENTIAL_PROVIDER_FIELD_STATE st;
      CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE is;
      c->GetFieldState(7, &st, &is);
      check(st == CPFS_DISPLAY_IN_SELECTED_TILE && stringValue(c, 7) == L"Change password", "ChangePasswordUrl set: the \"Change password\" link is on the tile");
      check(c->CommandLinkClicked(7) == S_OK, "CommandLinkClicked(Change password)");
      check(stringValue(c, 6) == L"To change your password, go to https://sspr.corp.example/reset on your phone or another computer.",
            "at logon the link shows the address: \"" + narrow(stringValue(c, 6)) + "\"");
      check(c->CommandLinkClicked(6) == E_INVALIDARG, "CommandLinkClicked on another field refused");
      c->Release();
    } else {
      check(false, "GetCredentialAt(0) with ChangePasswordUrl");
    }
    p->Release();
    // Not https: no link at all.
    setSetting(L"ChangePasswordUrl", std::wstring(L"http://sspr.corp.example/reset"));
    p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_LOGON, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    c = nullptr;
    p->GetCredentialAt(0, &c);
    if (c) {
      CREDENTIAL_PROVIDER_FIELD_STATE st;
      CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE is;
      c->GetFieldState(7, &st, &is);
      check(st == CPFS_HIDDEN, "ChangePasswordUrl not https: no link");
      c->Release();
    }
    p->Release();
    deleteSetting(L"ChangePasswordUrl");
  }

  // HideOtherProviders=0: the status line and every authenticate request say "not enforced".
  {
    setSetting(L"HideOtherProviders", std::wstring(L"0"));  // REG_SZ, as the MSI writes it (REG_DWORD below)
    auto* p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_LOGON, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    ICredentialProviderCredential* c = nullptr;
    p->GetCredentialAt(0, &c);
    const std::wstring want = L"Service Status: OK (not enforced: other sign-in options are shown)";
    const bool shown = c && waitForStatus(p, c, want, 10000);
    check(shown, "HideOtherProviders=0: status line \"" + narrow(c ? stringValue(c, 6) : L"") + "\"");
    if (c) {
      c->SetStringValue(2, L"dave");
      c->SetStringValue(3, L"pw");
      Serialized r = submit(c);
      check(r.response == CPGSR_NO_CREDENTIAL_FINISHED && r.text == L"Denied on the phone", "dave denied (the request reached the endpoint)");
      c->Release();
    }
    p->Release();
    // A credential prompt: never filtered, so "enforced":false whatever the setting; its status
    // line only carries the note while the setting is 0.
    deleteSetting(L"HideOtherProviders");
    p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_CREDUI, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    c = nullptr;
    p->GetCredentialAt(0, &c);
    check(c && waitForStatus(p, c, L"Service Status: OK", 10000), "CPUS_CREDUI with HideOtherProviders on: the exact status text");
    if (c) {
      c->SetStringValue(2, L"frank");
      c->SetStringValue(3, L"pw");
      Serialized r = submit(c);
      check(r.response == CPGSR_NO_CREDENTIAL_FINISHED && r.text == L"Denied on the phone", "frank denied in a credential prompt");
      c->Release();
    }
    p->Release();
    std::string dave, frank;
    for (const std::string& q : endpoint.requests()) {
      if (q.find("\"username\":\"dave\"") != std::string::npos) dave = q;
      if (q.find("\"username\":\"frank\"") != std::string::npos) frank = q;
    }
    std::printf("        endpoint got: %s\n        endpoint got: %s\n", dave.c_str(), frank.c_str());
    check(dave.find("\"scenario\":\"logon\"") != std::string::npos && dave.find("\"enforced\":false") != std::string::npos,
          "HideOtherProviders=0: the authenticate request carries \"enforced\":false");
    check(frank.find("\"scenario\":\"credui\"") != std::string::npos && frank.find("\"enforced\":false") != std::string::npos,
          "credential prompt: \"enforced\":false (other tiles are never hidden there)");

    // HideOtherProviders on but the filter not registered: nothing would hide the other tiles.
    check(dll.unregisterServer() == S_OK && !keyExists(filterKey), "filter registration removed");
    p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_UNLOCK_WORKSTATION, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    c = nullptr;
    p->GetCredentialAt(0, &c);
    const bool noted = c && waitForStatus(p, c, want, 10000);
    check(noted, "HideOtherProviders on, filter not registered: status line \"" + narrow(c ? stringValue(c, 6) : L"") + "\"");
    if (c) {
      c->SetStringValue(2, L"gina");
      c->SetStringValue(3, L"pw");
      submit(c);
      c->Release();
    }
    p->Release();
    std::string gina;
    for (const std::string& q : endpoint.requests()) {
      if (q.find("\"username\":\"gina\"") != std::string::npos) gina = q;
    }
    std::printf("        endpoint got: %s\n", gina.c_str());
    check(gina.find("\"scenario\":\"unlock\"") != std::string::npos && gina.find("\"enforced\":false") != std::string::npos,
          "filter not registered: the authenticate request carries \"enforced\":false");
    check(dll.registerServer() == S_OK && keyExists(filterKey), "registered again");
    deleteSetting(L"HideOtherProviders");  // DllRegisterServer wrote 1; absent again from here on
  }

  // The default PipeServerSid (LocalSystem) refuses a pipe served by anybody else.
  setSetting(L"PipeServerSid", std::wstring(L"S-1-5-18"));
  const std::wstring untrusted = statusAfterStart(dll, 5000);
  std::printf("        status with an untrusted pipe server: %s\n", narrow(untrusted).c_str());
  check(untrusted.rfind(L"error (", 0) == 0 && untrusted.find(L"S-1-5-18") != std::wstring::npos, "pipe served by another account: error status");

  // No endpoint at all: the background service text, and fail closed.
  setSetting(L"PipePath", std::wstring(L"\\\\.\\pipe\\gatehouse-smoke-nobody-here"));
  const std::wstring down = statusAfterStart(dll, 5000);
  check(down == L"health-check request timed out. Is the background service running?", "no endpoint: \"" + narrow(down) + "\"");
  {
    auto* p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_UNLOCK_WORKSTATION, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    ICredentialProviderCredential* c = nullptr;
    p->GetCredentialAt(0, &c);
    c->SetStringValue(2, L"alice");
    c->SetStringValue(3, L"pw");
    Serialized r = submit(c);
    check(r.response == CPGSR_NO_CREDENTIAL_FINISHED &&
              r.text == L"Sign-in refused: health-check request timed out. Is the background service running?",
          "fail closed: \"" + narrow(r.text) + "\"");
    // An excluded account logs on with the password alone.
    setSetting(L"ExcludedAccounts", std::wstring(L"breakglass"));
    c->Release();
    p->Release();
    p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
    p->SetUsageScenario(CPUS_UNLOCK_WORKSTATION, 0);
    p->GetCredentialCount(&count, &def, &autoLogon);
    p->GetCredentialAt(0, &c);
    c->SetStringValue(2, L".\\breakglass");
    c->SetStringValue(3, L"pw");
    r = submit(c);
    check(r.response == CPGSR_RETURN_CREDENTIAL_FINISHED, "excluded account: credential returned without the endpoint");
    if (r.cs.rgbSerialization) {
      check(r.cs.rgbSerialization[0] == 7, "MessageType KerbWorkstationUnlockLogon for CPUS_UNLOCK_WORKSTATION");
      CoTaskMemFree(r.cs.rgbSerialization);
    }
    c->Release();
    p->Release();
    if (wineVersion()) {
      // With the default package the DLL asks LSA for "Negotiate", which Wine's LSA lacks.
      HKEY k;
      RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Gatehouse", 0, KEY_WRITE | KEY_WOW64_64KEY, &k);
      RegDeleteValueW(k, L"AuthenticationPackage");
      RegCloseKey(k);
      p = create<ICredentialProvider>(dll, CLSID_GatehouseProvider, IID_ICredentialProvider);
      p->SetUsageScenario(CPUS_LOGON, 0);
      p->GetCredentialCount(&count, &def, &autoLogon);
      p->GetCredentialAt(0, &c);
      c->SetStringValue(2, L"breakglass");
      c->SetStringValue(3, L"pw");
      r = submit(c);
      check(r.response == CPGSR_NO_CREDENTIAL_FINISHED && r.text.find(L"Negotiate") != std::wstring::npos,
            "default package is Negotiate (absent in Wine: \"" + narrow(r.text) + "\")");
      c->Release();
      p->Release();
    }
  }

  // The filter.
  {
    auto* f = create<ICredentialProviderFilter>(dll, CLSID_GatehouseFilter, IID_ICredentialProviderFilter);
    check(f != nullptr, "CreateInstance(ICredentialProviderFilter)");
    if (f) {
      GUID providers[3] = {other, CLSID_GatehouseProvider, {0x60b78e88, 0xead8, 0x445c, {0x9c, 0xfd, 0x0b, 0x87, 0xf7, 0x4e, 0xa6, 0xcd}}};
      deleteSetting(L"HideOtherProviders");
      check(dwordSetting(L"HideOtherProviders") == -1, "HideOtherProviders absent from the registry");
      BOOL allow[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_LOGON, 0, providers, allow, 3);
      check(!allow[0] && allow[1] && !allow[2], "HideOtherProviders absent (default on): only Gatehouse left at CPUS_LOGON");
      BOOL allowUnlock[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_UNLOCK_WORKSTATION, 0, providers, allowUnlock, 3);
      check(!allowUnlock[0] && allowUnlock[1] && !allowUnlock[2], "HideOtherProviders absent: only Gatehouse left at CPUS_UNLOCK_WORKSTATION");
      BOOL allowUi[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_CREDUI, 0, providers, allowUi, 3);
      check(allowUi[0] && allowUi[1] && allowUi[2], "HideOtherProviders on: CredUI never filtered");
      BOOL allowCp[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_CHANGE_PASSWORD, 0, providers, allowCp, 3);
      check(allowCp[0] && allowCp[1] && allowCp[2], "HideOtherProviders on: change password never filtered");
      GUID withoutUs[2] = {other, providers[2]};
      BOOL allow2[2] = {TRUE, TRUE};
      f->Filter(CPUS_LOGON, 0, withoutUs, allow2, 2);
      check(allow2[0] && allow2[1], "HideOtherProviders on, Gatehouse provider missing: nothing hidden (no lockout)");
      BOOL allow3[3] = {TRUE, FALSE, TRUE};
      f->Filter(CPUS_LOGON, 0, providers, allow3, 3);
      check(allow3[0] && !allow3[1] && allow3[2], "HideOtherProviders on, Gatehouse provider disallowed by Windows: nothing hidden");
      setSetting(L"HideOtherProviders", 0);
      BOOL allow0[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_LOGON, 0, providers, allow0, 3);
      check(allow0[0] && allow0[1] && allow0[2], "HideOtherProviders=0: nothing hidden at CPUS_LOGON");
      setSetting(L"HideOtherProviders", 1);
      BOOL allow1[3] = {TRUE, TRUE, TRUE};
      f->Filter(CPUS_LOGON, 0, providers, allow1, 3);
      check(!allow1[0] && allow1[1] && !allow1[2], "HideOtherProviders=1: only Gatehouse left at CPUS_LOGON");
      deleteSetting(L"HideOtherProviders");
      byte blob[8] = {1, 2, 3, 4, 5, 6, 7, 8};
      CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION in{};
      in.ulAuthenticationPackage = 9;
      in.clsidCredentialProvider = providers[2];
      in.cbSerialization = sizeof blob;
      in.rgbSerialization = blob;
      CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION out{};
      check(f->UpdateRemoteCredential(&in, &out) == S_OK && IsEqualGUID(out.clsidCredentialProvider, CLSID_GatehouseProvider) &&
                out.cbSerialization == 8 && out.rgbSerialization && out.rgbSerialization[7] == 8 && out.ulAuthenticationPackage == 9,
            "UpdateRemoteCredential re-addresses RDP credentials to Gatehouse");
      if (out.rgbSerialization) CoTaskMemFree(out.rgbSerialization);
      f->Release();
    }
  }
  setSetting(L"ExcludedAccounts", std::wstring(L""));
  check(dll.unregisterServer() == S_OK && !keyExists(filterKey) && !keyExists(cpKey), "unregistered at the end");

  check(dll.canUnloadNow() == S_OK, "DllCanUnloadNow is S_OK once everything is released");
  FreeLibrary(dll.module);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
