// The Gatehouse credential provider filter (ICredentialProviderFilter).
//
// Filter(): with HideOtherProviders on (the default; off only with a REG_DWORD 0), at logon and
// unlock only, every other provider's tiles are hidden (except CLSIDs listed in AllowedProviders),
// so the password tile cannot be used to skip the second factor. Never in CredUI or
// change-password, never in safe mode (SM_CLEANBOOT: the way back in when something is wrong),
// and never when the Gatehouse provider itself is not among the providers LogonUI loaded (hiding
// everything would lock everybody out).
//
// UpdateRemoteCredential(): credentials an RDP client sent (NLA) are addressed to Windows'
// password provider, which would log on with them at once, without a second factor. The filter
// re-addresses them to the Gatehouse provider, which submits them after the second factor.
#include <new>

#include "module.h"
#include "settings.h"
#include "win_util.h"

namespace gh {
namespace {

class ProviderFilter final : public ICredentialProviderFilter {
 public:
  ProviderFilter() { dllAddRef(); }

  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override {
    if (ppv == nullptr) return E_POINTER;
    if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_ICredentialProviderFilter)) {
      *ppv = static_cast<ICredentialProviderFilter*>(this);
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

  IFACEMETHODIMP Filter(CREDENTIAL_PROVIDER_USAGE_SCENARIO cpus, DWORD, GUID* rgclsidProviders, BOOL* rgbAllow, DWORD cProviders) override {
    if (cpus != CPUS_LOGON && cpus != CPUS_UNLOCK_WORKSTATION) return S_OK;
    if (rgclsidProviders == nullptr || rgbAllow == nullptr) return S_OK;
    const ProviderSettings s = readSettings();
    if (!s.hideOtherProviders) return S_OK;
    if (safeMode()) {
      logLine("filter: safe mode, not hiding any provider");
      return S_OK;
    }
    bool oursPresent = false;
    for (DWORD i = 0; i < cProviders; ++i) {
      if (IsEqualGUID(rgclsidProviders[i], CLSID_GatehouseProvider)) oursPresent = rgbAllow[i] != FALSE;
    }
    if (!oursPresent) {
      logLine("filter: the Gatehouse provider is not available, not hiding any provider");
      return S_OK;
    }
    DWORD hidden = 0;
    for (DWORD i = 0; i < cProviders; ++i) {
      if (IsEqualGUID(rgclsidProviders[i], CLSID_GatehouseProvider)) continue;
      if (allowed(s, rgclsidProviders[i])) continue;
      if (rgbAllow[i]) ++hidden;
      rgbAllow[i] = FALSE;
    }
    logLine("filter: hid " + std::to_string(hidden) + " other provider(s)");
    return S_OK;
  }

  IFACEMETHODIMP UpdateRemoteCredential(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* in,
                                        CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* out) override {
    if (in == nullptr || out == nullptr) return E_INVALIDARG;
    if (in->cbSerialization == 0 || in->rgbSerialization == nullptr || in->cbSerialization > 64 * 1024) return E_NOTIMPL;
    auto* copy = static_cast<byte*>(CoTaskMemAlloc(in->cbSerialization));
    if (copy == nullptr) return E_OUTOFMEMORY;
    memcpy(copy, in->rgbSerialization, in->cbSerialization);
    out->ulAuthenticationPackage = in->ulAuthenticationPackage;
    out->clsidCredentialProvider = CLSID_GatehouseProvider;
    out->cbSerialization = in->cbSerialization;
    out->rgbSerialization = copy;
    logLine("filter: remote credentials re-addressed to the Gatehouse provider");
    return S_OK;
  }

 private:
  ~ProviderFilter() { dllRelease(); }

  static bool allowed(const ProviderSettings& s, const GUID& clsid) {
    for (const std::wstring& text : s.allowedProviders) {
      CLSID c;
      std::wstring t = text;
      if (SUCCEEDED(CLSIDFromString(&t[0], &c)) && IsEqualGUID(c, clsid)) return true;
    }
    return false;
  }

  LONG ref_ = 1;
};

}  // namespace

HRESULT createFilter(REFIID riid, void** ppv) {
  auto* f = new (std::nothrow) ProviderFilter();
  if (f == nullptr) return E_OUTOFMEMORY;
  const HRESULT hr = f->QueryInterface(riid, ppv);
  f->Release();
  return hr;
}

}  // namespace gh
