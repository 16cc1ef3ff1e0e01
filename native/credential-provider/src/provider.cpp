#include "provider.h"

#include "logon.h"
#include "module.h"
#include "win_util.h"

namespace gh {

using gatehouse::cp::Usage;

Provider::Provider() { dllAddRef(); }

Provider::~Provider() {
  // Stop the health thread before anything it could call back into goes away.
  if (session_ && session_->health) session_->health->stop();
  releaseCredentials();
  wipe(pendingPassword_);
  if (events_) events_->Release();
  dllRelease();
}

IFACEMETHODIMP Provider::QueryInterface(REFIID riid, void** ppv) {
  if (ppv == nullptr) return E_POINTER;
  if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_ICredentialProvider)) {
    *ppv = static_cast<ICredentialProvider*>(this);
  } else if (IsEqualIID(riid, IID_ICredentialProviderSetUserArray)) {
    *ppv = static_cast<ICredentialProviderSetUserArray*>(this);
  } else {
    *ppv = nullptr;
    return E_NOINTERFACE;
  }
  AddRef();
  return S_OK;
}

IFACEMETHODIMP_(ULONG) Provider::AddRef() { return static_cast<ULONG>(InterlockedIncrement(&ref_)); }

IFACEMETHODIMP_(ULONG) Provider::Release() {
  const LONG n = InterlockedDecrement(&ref_);
  if (n == 0) delete this;
  return static_cast<ULONG>(n);
}

IFACEMETHODIMP Provider::SetUsageScenario(CREDENTIAL_PROVIDER_USAGE_SCENARIO cpus, DWORD dwFlags) {
  Usage usage;
  switch (cpus) {
    case CPUS_LOGON: usage = Usage::Logon; break;
    case CPUS_UNLOCK_WORKSTATION: usage = Usage::Unlock; break;
    case CPUS_CREDUI: usage = Usage::CredUI; break;
    default: return E_NOTIMPL;  // change password and PLAP stay with Windows' own providers
  }
  if (session_ && session_->health) session_->health->stop();
  releaseCredentials();
  auto s = std::make_shared<Session>();
  s->settings = readSettings();
  s->usage = usage;
  s->flags = dwFlags;
  s->remote = remoteSession();
  gatehouse::cp::FilterState filter;
  filter.safeMode = safeMode();
  filter.filterRegistered = filterRegistered();
  s->enforced = gatehouse::cp::otherProvidersHidden(s->settings, usage, filter);
  s->notEnforcedNote = gatehouse::cp::statusSaysNotEnforced(s->settings, usage, filter);
  s->computer = computerName();
  gatehouse::EndpointOptions ep;
  ep.path = s->settings.pipePath;
  ep.connect.requiredServerSid = s->settings.pipeServerSid;
  s->health = std::make_shared<HealthWatcher>(ep, s->settings.healthTimeoutMs, [this] { onStatusChanged(); });
  session_ = s;
  logLine(std::string("provider: scenario ") + gatehouse::scenarioName(gatehouse::cp::scenarioFor(usage, s->remote)) + ", pipe " +
          s->settings.pipePath + ", fail mode " + (s->settings.failMode == gatehouse::cp::FailMode::Open ? "open" : "closed") +
          (s->settings.rdpOnly ? ", RDP only" : "") + (s->enforced ? ", other providers hidden" : ", not enforced: other providers shown") +
          (filter.safeMode ? " (safe mode)" : "") + (filter.filterRegistered ? "" : " (the Gatehouse filter is not registered)"));
  s->health->start();
  return S_OK;
}

IFACEMETHODIMP Provider::SetSerialization(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs) {
  if (pcpcs == nullptr || !session_) return E_INVALIDARG;
  const bool ours = IsEqualGUID(pcpcs->clsidCredentialProvider, CLSID_GatehouseProvider) != 0;
  ULONG negotiate = 0;
  const bool negotiateOrNone = SUCCEEDED(lookupPackage(session_->settings.authPackage, &negotiate)) && pcpcs->ulAuthenticationPackage == negotiate;
  if (!ours && !(session_->usage == Usage::CredUI && negotiateOrNone)) return E_NOTIMPL;
  gatehouse::cp::KerbLogon logon;
  std::string err;
  if (!unpackSerialization(*pcpcs, session_->usage, session_->flags, logon, &err)) {
    logLine("SetSerialization: not an interactive logon we can read: " + err);
    return E_INVALIDARG;
  }
  pendingUser_ = logon.domain.empty() ? fromU16(logon.user) : fromU16(logon.domain) + L"\\" + fromU16(logon.user);
  wipe(pendingPassword_);
  pendingPassword_ = fromU16(logon.password);
  gatehouse::cp::secureWipe(logon);
  // Remote credentials (RDP after NLA): submit at once, so the user only answers the second factor.
  autoLogon_ = session_->usage != Usage::CredUI && !pendingPassword_.empty();
  logLine("SetSerialization: credentials for " + narrow(pendingUser_) + (autoLogon_ ? " (automatic submit)" : ""));
  releaseCredentials();
  return S_OK;
}

IFACEMETHODIMP Provider::Advise(ICredentialProviderEvents* pcpe, UINT_PTR upAdviseContext) {
  std::lock_guard<std::mutex> lock(eventsMu_);
  if (events_) events_->Release();
  events_ = pcpe;
  if (events_) events_->AddRef();
  adviseContext_ = upAdviseContext;
  return S_OK;
}

IFACEMETHODIMP Provider::UnAdvise() {
  std::lock_guard<std::mutex> lock(eventsMu_);
  if (events_) events_->Release();
  events_ = nullptr;
  return S_OK;
}

void Provider::onStatusChanged() {
  // From the health thread: only ask LogonUI to enumerate again (documented as callable from any
  // thread); the status field itself is updated on LogonUI's thread in GetCredentialCount.
  std::lock_guard<std::mutex> lock(eventsMu_);
  if (events_) events_->CredentialsChanged(adviseContext_);
}

IFACEMETHODIMP Provider::GetFieldDescriptorCount(DWORD* pdwCount) {
  if (pdwCount == nullptr) return E_INVALIDARG;
  *pdwCount = FID_COUNT;
  return S_OK;
}

IFACEMETHODIMP Provider::GetFieldDescriptorAt(DWORD dwIndex, CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR** ppcpfd) {
  if (ppcpfd == nullptr) return E_INVALIDARG;
  *ppcpfd = nullptr;
  if (dwIndex >= FID_COUNT) return E_INVALIDARG;
  auto* d = static_cast<CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR*>(CoTaskMemAlloc(sizeof(CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR)));
  if (d == nullptr) return E_OUTOFMEMORY;
  ZeroMemory(d, sizeof(*d));
  d->dwFieldID = dwIndex;
  d->cpft = kFields[dwIndex].type;
  if (kFields[dwIndex].guid) d->guidFieldType = *kFields[dwIndex].guid;
  const HRESULT hr = dupString(kFields[dwIndex].label, &d->pszLabel);
  if (FAILED(hr)) {
    CoTaskMemFree(d);
    return hr;
  }
  *ppcpfd = d;
  return S_OK;
}

IFACEMETHODIMP Provider::SetUserArray(ICredentialProviderUserArray* users) {
  users_.clear();
  haveUserArray_ = users != nullptr;
  if (users == nullptr) return S_OK;
  DWORD count = 0;
  if (FAILED(users->GetCount(&count))) return S_OK;
  for (DWORD i = 0; i < count && i < 256; ++i) {
    ICredentialProviderUser* u = nullptr;
    if (FAILED(users->GetAt(i, &u)) || u == nullptr) continue;
    LPWSTR sid = nullptr;
    LPWSTR name = nullptr;
    if (SUCCEEDED(u->GetSid(&sid)) && SUCCEEDED(u->GetStringValue(PKEY_Identity_QualifiedUserName, &name)) && sid && name) {
      users_.push_back({sid, name});
    }
    if (sid) CoTaskMemFree(sid);
    if (name) CoTaskMemFree(name);
    u->Release();
  }
  releaseCredentials();
  return S_OK;
}

void Provider::releaseCredentials() {
  for (Credential* c : credentials_) c->Release();
  credentials_.clear();
}

void Provider::buildCredentials() {
  if (!credentials_.empty() || !session_) return;
  for (const User& u : users_) credentials_.push_back(new Credential(session_, u.sid, u.qualifiedName));
  // The "Other user" tile: any account, typed by name (domain users who never signed in here, RDP).
  credentials_.push_back(new Credential(session_, std::wstring(), std::wstring()));
}

IFACEMETHODIMP Provider::GetCredentialCount(DWORD* pdwCount, DWORD* pdwDefault, BOOL* pbAutoLogonWithDefault) {
  if (pdwCount == nullptr || pdwDefault == nullptr || pbAutoLogonWithDefault == nullptr) return E_INVALIDARG;
  buildCredentials();
  *pdwCount = static_cast<DWORD>(credentials_.size());
  *pdwDefault = CREDENTIAL_PROVIDER_NO_DEFAULT;
  *pbAutoLogonWithDefault = FALSE;
  for (Credential* c : credentials_) c->refreshStatus();
  if (!pendingUser_.empty()) {
    // Put handed-over credentials into the tile of that user, or the "Other user" tile.
    DWORD target = static_cast<DWORD>(credentials_.size() - 1);
    for (DWORD i = 0; i + 1 < credentials_.size(); ++i) {
      if (equalsIgnoreCaseW(narrow(credentials_[i]->qualifiedName()), narrow(pendingUser_))) target = i;
    }
    credentials_[target]->prefill(pendingUser_, pendingPassword_);
    *pdwDefault = target;
    *pbAutoLogonWithDefault = autoLogon_ ? TRUE : FALSE;
    wipe(pendingPassword_);
    pendingUser_.clear();
    autoLogon_ = false;
  }
  return S_OK;
}

IFACEMETHODIMP Provider::GetCredentialAt(DWORD dwIndex, ICredentialProviderCredential** ppcpc) {
  if (ppcpc == nullptr) return E_INVALIDARG;
  *ppcpc = nullptr;
  buildCredentials();
  if (dwIndex >= credentials_.size()) return E_INVALIDARG;
  return credentials_[dwIndex]->QueryInterface(IID_ICredentialProviderCredential, reinterpret_cast<void**>(ppcpc));
}

HRESULT createProvider(REFIID riid, void** ppv) {
  auto* p = new (std::nothrow) Provider();
  if (p == nullptr) return E_OUTOFMEMORY;
  const HRESULT hr = p->QueryInterface(riid, ppv);
  p->Release();
  return hr;
}

}  // namespace gh
