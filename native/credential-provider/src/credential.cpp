#include "credential.h"

#include <mutex>
#include <shellapi.h>
#include <set>

#include "gatehouse/client.h"
#include "logon.h"
#include "module.h"
#include "win_util.h"

namespace gh {

using gatehouse::cp::AccountName;
using gatehouse::cp::PasswordVerdict;
using gatehouse::cp::SecondFactor;
using gatehouse::cp::SubmitAction;

namespace {

// Accounts that answered code_required in this LogonUI process: their code field stays visible.
std::mutex g_codeUsersMu;
std::set<std::wstring> g_codeUsers;

std::wstring accountKey(const AccountName& a) {
  std::wstring k = widen(a.upn ? a.user : a.domain + "\\" + a.user);
  if (!k.empty()) CharUpperBuffW(&k[0], static_cast<DWORD>(k.size()));
  return k;
}

bool userNeedsCode(const AccountName& a) {
  std::lock_guard<std::mutex> lock(g_codeUsersMu);
  return g_codeUsers.count(accountKey(a)) != 0;
}

void rememberNeedsCode(const AccountName& a) {
  std::lock_guard<std::mutex> lock(g_codeUsersMu);
  if (g_codeUsers.size() < 1000) g_codeUsers.insert(accountKey(a));
}

}  // namespace

Credential::Credential(std::shared_ptr<const Session> session, std::wstring sid, std::wstring qualifiedName)
    : session_(std::move(session)), sid_(std::move(sid)), qualifiedName_(std::move(qualifiedName)) {
  dllAddRef();
  for (DWORD i = 0; i < FID_COUNT; ++i) {
    states_[i] = kFields[i].state;
    interactive_[i] = kFields[i].interactive;
    if (kFields[i].type == CPFT_LARGE_TEXT || kFields[i].type == CPFT_SUBMIT_BUTTON || kFields[i].type == CPFT_COMMAND_LINK) values_[i] = kFields[i].label;
  }
  values_[FID_PASSWORD].reserve(256);  // secrets: avoid reallocations that would leave copies behind
  values_[FID_CODE].reserve(64);
  if (!qualifiedName_.empty()) {
    // A tile Windows shows for a known user: the name is on the tile already.
    values_[FID_USERNAME] = qualifiedName_;
    states_[FID_USERNAME] = CPFS_HIDDEN;
    interactive_[FID_USERNAME] = CPFIS_NONE;
    interactive_[FID_PASSWORD] = CPFIS_FOCUSED;
  }
  codeVisible_ = session_->settings.showCodeField;
  if (!qualifiedName_.empty()) {
    const AccountName a = gatehouse::cp::splitAccountName(narrow(qualifiedName_), session_->settings.defaultDomain, session_->computer);
    codeVisible_ = codeVisible_ || userNeedsCode(a);
  }
  states_[FID_CODE] = codeVisible_ ? CPFS_DISPLAY_IN_SELECTED_TILE : CPFS_HIDDEN;
  if (!session_->settings.changePasswordUrl.empty()) states_[FID_CHANGE_PASSWORD] = CPFS_DISPLAY_IN_SELECTED_TILE;
  values_[FID_STATUS] = statusLine();
  shownStatus_ = values_[FID_STATUS];
}

Credential::~Credential() {
  clearSecrets(true, true);
  if (events_) events_->Release();
  dllRelease();
}

IFACEMETHODIMP Credential::QueryInterface(REFIID riid, void** ppv) {
  if (ppv == nullptr) return E_POINTER;
  if (IsEqualIID(riid, IID_IUnknown) || IsEqualIID(riid, IID_ICredentialProviderCredential) || IsEqualIID(riid, IID_ICredentialProviderCredential2)) {
    *ppv = static_cast<ICredentialProviderCredential2*>(this);
    AddRef();
    return S_OK;
  }
  *ppv = nullptr;
  return E_NOINTERFACE;
}

IFACEMETHODIMP_(ULONG) Credential::AddRef() { return static_cast<ULONG>(InterlockedIncrement(&ref_)); }

IFACEMETHODIMP_(ULONG) Credential::Release() {
  const LONG n = InterlockedDecrement(&ref_);
  if (n == 0) delete this;
  return static_cast<ULONG>(n);
}

IFACEMETHODIMP Credential::Advise(ICredentialProviderCredentialEvents* pcpce) {
  if (events_) events_->Release();
  events_ = pcpce;
  if (events_) events_->AddRef();
  return S_OK;
}

IFACEMETHODIMP Credential::UnAdvise() {
  if (events_) events_->Release();
  events_ = nullptr;
  return S_OK;
}

IFACEMETHODIMP Credential::SetSelected(BOOL* pbAutoLogon) {
  if (pbAutoLogon) *pbAutoLogon = FALSE;
  refreshStatus();
  if (session_->health) session_->health->wake();
  return S_OK;
}

IFACEMETHODIMP Credential::SetDeselected() {
  clearSecrets(true, true);
  note_.clear();
  refreshStatus();
  return S_OK;
}

IFACEMETHODIMP Credential::GetFieldState(DWORD id, CREDENTIAL_PROVIDER_FIELD_STATE* pcpfs, CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE* pcpfis) {
  if (id >= FID_COUNT || pcpfs == nullptr || pcpfis == nullptr) return E_INVALIDARG;
  *pcpfs = states_[id];
  *pcpfis = interactive_[id];
  return S_OK;
}

IFACEMETHODIMP Credential::GetStringValue(DWORD id, LPWSTR* ppsz) {
  if (ppsz == nullptr) return E_INVALIDARG;
  *ppsz = nullptr;
  if (id >= FID_COUNT || kFields[id].type == CPFT_TILE_IMAGE) return E_INVALIDARG;
  if (id == FID_STATUS) {
    values_[FID_STATUS] = statusLine();
    shownStatus_ = values_[FID_STATUS];
  }
  return dupString(values_[id], ppsz);
}

IFACEMETHODIMP Credential::GetBitmapValue(DWORD id, HBITMAP* phbmp) {
  if (phbmp == nullptr) return E_INVALIDARG;
  *phbmp = nullptr;
  if (id != FID_TILE_IMAGE) return E_INVALIDARG;
  *phbmp = createTileBitmap();
  return *phbmp ? S_OK : HRESULT_FROM_WIN32(GetLastError());
}

IFACEMETHODIMP Credential::GetCheckboxValue(DWORD, BOOL*, LPWSTR*) { return E_NOTIMPL; }

IFACEMETHODIMP Credential::GetSubmitButtonValue(DWORD id, DWORD* pdwAdjacentTo) {
  if (id != FID_SUBMIT || pdwAdjacentTo == nullptr) return E_INVALIDARG;
  *pdwAdjacentTo = codeVisible_ ? FID_CODE : FID_PASSWORD;
  return S_OK;
}

IFACEMETHODIMP Credential::GetComboBoxValueCount(DWORD, DWORD*, DWORD*) { return E_NOTIMPL; }
IFACEMETHODIMP Credential::GetComboBoxValueAt(DWORD, DWORD, LPWSTR*) { return E_NOTIMPL; }

IFACEMETHODIMP Credential::SetStringValue(DWORD id, LPCWSTR psz) {
  if (id != FID_USERNAME && id != FID_PASSWORD && id != FID_CODE) return E_INVALIDARG;
  std::wstring& v = values_[id];
  // LogonUI sends the field's whole text at every change: it replaces what was there.
  if (id == FID_PASSWORD || id == FID_CODE) {
    // Overwrite in place: no reallocation, no copy left behind.
    SecureZeroMemory(&v[0], v.capacity() * sizeof(wchar_t));
  }
  v.clear();
  if (psz != nullptr) v.append(psz);
  return S_OK;
}

IFACEMETHODIMP Credential::SetCheckboxValue(DWORD, BOOL) { return E_NOTIMPL; }
IFACEMETHODIMP Credential::SetComboBoxSelectedValue(DWORD, DWORD) { return E_NOTIMPL; }
IFACEMETHODIMP Credential::CommandLinkClicked(DWORD id) {
  const std::string& url = session_->settings.changePasswordUrl;
  if (id != FID_CHANGE_PASSWORD || url.empty()) return E_INVALIDARG;
  if (gatehouse::cp::changePasswordAction(session_->usage) == gatehouse::cp::LinkAction::Open) {
    // A credential prompt, in the user's own session: the user's browser.
    const HINSTANCE r = ShellExecuteW(nullptr, L"open", widen(url).c_str(), nullptr, nullptr, SW_SHOWNORMAL);
    if (reinterpret_cast<INT_PTR>(r) > 32) return S_OK;
  }
  // Logon and unlock (LogonUI, SYSTEM, the secure desktop): the address, for another device.
  note_ = widen(gatehouse::cp::changePasswordText(url));
  setString(FID_STATUS, note_);
  return S_OK;
}

IFACEMETHODIMP Credential::GetUserSid(LPWSTR* sid) {
  if (sid == nullptr) return E_INVALIDARG;
  *sid = nullptr;
  if (sid_.empty()) return S_FALSE;  // not bound to a user: the "Other user" tile
  return dupString(sid_, sid);
}

void Credential::prefill(const std::wstring& user, const std::wstring& password) {
  if (qualifiedName_.empty()) setString(FID_USERNAME, user);
  SetStringValue(FID_PASSWORD, password.c_str());
}

std::wstring Credential::statusLine() const {
  if (!note_.empty()) return note_;
  const std::string health = session_->health ? session_->health->text() : std::string(gatehouse::kStatusChecking);
  return widen(gatehouse::cp::statusLineWithEnforcement(health, session_->notEnforcedNote));
}

void Credential::refreshStatus() {
  const std::wstring line = statusLine();
  if (line != shownStatus_) setString(FID_STATUS, line);
}

void Credential::setString(DWORD id, const std::wstring& value) {
  if (id == FID_PASSWORD || id == FID_CODE) {
    SetStringValue(id, value.c_str());
  } else {
    values_[id] = value;
  }
  if (id == FID_STATUS) shownStatus_ = value;
  if (events_) events_->SetFieldString(this, id, value.c_str());
}

void Credential::setState(DWORD id, CREDENTIAL_PROVIDER_FIELD_STATE state) {
  states_[id] = state;
  if (events_) events_->SetFieldState(this, id, state);
}

void Credential::setInteractive(DWORD id, CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE state) {
  interactive_[id] = state;
  if (events_) events_->SetFieldInteractiveState(this, id, state);
}

void Credential::showCodeField(bool show) {
  if (show == codeVisible_) return;
  codeVisible_ = show;
  setState(FID_CODE, show ? CPFS_DISPLAY_IN_SELECTED_TILE : CPFS_HIDDEN);
  if (events_) events_->SetFieldSubmitButton(this, FID_SUBMIT, show ? FID_CODE : FID_PASSWORD);
}

void Credential::clearSecrets(bool password, bool code) {
  if (password) {
    SecureZeroMemory(&values_[FID_PASSWORD][0], values_[FID_PASSWORD].capacity() * sizeof(wchar_t));
    values_[FID_PASSWORD].clear();
    if (events_) events_->SetFieldString(this, FID_PASSWORD, L"");
  }
  if (code) {
    SecureZeroMemory(&values_[FID_CODE][0], values_[FID_CODE].capacity() * sizeof(wchar_t));
    values_[FID_CODE].clear();
    if (events_) events_->SetFieldString(this, FID_CODE, L"");
  }
}

HRESULT Credential::refuse(const std::string& text, CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE* pcpgsr, LPWSTR* ppszText,
                           CREDENTIAL_PROVIDER_STATUS_ICON* icon) {
  logLine("refused: " + text);
  *pcpgsr = CPGSR_NO_CREDENTIAL_FINISHED;
  if (icon) *icon = CPSI_ERROR;
  note_.clear();
  refreshStatus();
  if (ppszText) dupString(widen(text), ppszText);
  return S_OK;
}

IFACEMETHODIMP Credential::GetSerialization(CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE* pcpgsr, CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs,
                                            LPWSTR* ppszText, CREDENTIAL_PROVIDER_STATUS_ICON* icon) {
  if (pcpgsr == nullptr || pcpcs == nullptr) return E_INVALIDARG;
  *pcpgsr = CPGSR_NO_CREDENTIAL_NOT_FINISHED;
  ZeroMemory(pcpcs, sizeof(*pcpcs));
  if (ppszText) *ppszText = nullptr;
  if (icon) *icon = CPSI_NONE;
  const Session& s = *session_;

  const AccountName account = gatehouse::cp::splitAccountName(narrow(values_[FID_USERNAME]), s.settings.defaultDomain, s.computer);
  if (account.user.empty()) return refuse("Enter your user name.", pcpgsr, ppszText, icon);
  const std::string who = account.upn ? account.user : account.domain + "\\" + account.user;

  const SecondFactor need = gatehouse::cp::secondFactorFor(s.settings, account, s.remote, s.computer, equalsIgnoreCaseW);
  std::string note;
  if (need == SecondFactor::Required) {
    // (a) The password first, here on the machine: a wrong one never reaches anybody's phone.
    const auto check = checkPassword(account, values_[FID_PASSWORD]);
    if (check.verdict != PasswordVerdict::Verified) {
      clearSecrets(true, true);
      return refuse(check.text, pcpgsr, ppszText, icon);
    }
    // (b) The second factor over the pipe. The password does not go there.
    gatehouse::AuthenticateRequest req;
    req.username = account.user;  // the UPN as typed, or the name without its domain
    req.domain = account.domain;
    req.workstation = s.computer;
    req.scenario = gatehouse::cp::scenarioFor(s.usage, s.remote);
    req.enforced = s.enforced;  // the appliance records whether the password tile was a way around
    // Number matching: this tile shows the number the person then picks on the phone. The
    // appliance sends it in an interim reply while the call waits; it goes to the status line.
    req.numberMatching = true;
    if (codeVisible_ && !values_[FID_CODE].empty()) req.code = narrow(values_[FID_CODE]);
    setString(FID_STATUS, req.code ? L"Checking the code..." : L"Approve the sign-in on your phone...");
    gatehouse::EndpointOptions ep;
    ep.path = s.settings.pipePath;
    ep.connect.requiredServerSid = s.settings.pipeServerSid;
    const auto call = gatehouse::callAuthenticate(ep, req, gatehouse::deadlineIn(std::chrono::seconds(s.settings.authTimeoutSeconds)),
                                                  [this](const gatehouse::NumberShown& n) {
                                                    logLine("number matching: showing " + std::to_string(n.number));
                                                    setString(FID_STATUS, widen(n.message));
                                                  });
    if (req.code) gatehouse::cp::secureWipe(*req.code);
    clearSecrets(false, true);
    logLine("authenticate " + who + " (" + gatehouse::scenarioName(req.scenario) + (s.enforced ? "" : ", not enforced") + "): " +
            (call.status == gatehouse::CallStatus::Ok ? call.reply.rawResult : "no answer: " + call.error));
    if (call.status != gatehouse::CallStatus::Ok && s.health) {
      gatehouse::HealthCall h;
      h.status = call.status;
      h.error = call.error;
      s.health->record(gatehouse::healthOutcome(h));
    }
    const auto decision = gatehouse::cp::decideAfterAuthenticate(call, s.settings.failMode);
    if (decision.action == SubmitAction::AskForCode) {
      rememberNeedsCode(account);
      showCodeField(true);
      note_ = widen(decision.text);
      setString(FID_STATUS, note_);
      setInteractive(FID_CODE, CPFIS_FOCUSED);
      *pcpgsr = CPGSR_NO_CREDENTIAL_NOT_FINISHED;
      return S_OK;
    }
    if (decision.action == SubmitAction::Refuse) {
      clearSecrets(true, true);
      return refuse(decision.text, pcpgsr, ppszText, icon);
    }
    note = decision.text;  // fail-open note, if any
  } else {
    note = need == SecondFactor::SkipExcluded ? "excluded account: password only" : "console session with RdpOnly: password only";
  }
  if (!note.empty()) logLine(who + ": " + note);

  // (c) Approved (or no second factor for this logon): hand the credentials to Windows.
  const HRESULT hr = serializeLogon(account, values_[FID_PASSWORD], s.usage, s.flags, s.settings.authPackage, pcpcs);
  clearSecrets(true, true);
  note_.clear();
  if (FAILED(hr)) {
    char buf[160];
    wsprintfA(buf, "error (cannot pack the credentials for the %s package: 0x%08lx)", s.settings.authPackage.c_str(), static_cast<unsigned long>(hr));
    return refuse(buf, pcpgsr, ppszText, icon);
  }
  *pcpgsr = CPGSR_RETURN_CREDENTIAL_FINISHED;
  return S_OK;
}

IFACEMETHODIMP Credential::ReportResult(NTSTATUS ntsStatus, NTSTATUS ntsSubstatus, LPWSTR* ppszText, CREDENTIAL_PROVIDER_STATUS_ICON* icon) {
  if (ppszText) *ppszText = nullptr;
  if (icon) *icon = CPSI_NONE;
  char buf[96];
  wsprintfA(buf, "LSA result 0x%08lx / 0x%08lx", static_cast<unsigned long>(ntsStatus), static_cast<unsigned long>(ntsSubstatus));
  logLine(buf);
  // LogonUI shows its own text for LSA failures (wrong password, must change, ...).
  clearSecrets(true, true);
  return S_OK;
}

HBITMAP createTileBitmap() {
  constexpr int size = 128;
  BITMAPINFO bi{};
  bi.bmiHeader.biSize = sizeof(BITMAPINFOHEADER);
  bi.bmiHeader.biWidth = size;
  bi.bmiHeader.biHeight = -size;  // top-down
  bi.bmiHeader.biPlanes = 1;
  bi.bmiHeader.biBitCount = 32;
  bi.bmiHeader.biCompression = BI_RGB;
  void* bits = nullptr;
  HBITMAP bmp = CreateDIBSection(nullptr, &bi, DIB_RGB_COLORS, &bits, nullptr, 0);
  if (bmp == nullptr || bits == nullptr) return bmp;
  auto* px = static_cast<DWORD*>(bits);
  // A gate: dark blue field, two white posts and an arch.
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      DWORD c = 0xFF1F3A5F;
      const bool post = (y >= 40 && y < 104) && ((x >= 30 && x < 44) || (x >= 84 && x < 98));
      const int dx = x - 64, dy = y - 48;
      const int r2 = dx * dx + dy * dy;
      const bool arch = y < 48 && r2 <= 34 * 34 && r2 >= 22 * 22;
      const bool bar = (y >= 64 && y < 70) && x >= 44 && x < 84;
      if (post || arch || bar) c = 0xFFFFFFFF;
      px[y * size + x] = c;
    }
  }
  return bmp;
}

}  // namespace gh
