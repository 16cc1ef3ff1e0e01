// One Gatehouse tile (ICredentialProviderCredential2): either bound to a user Windows lists (SID +
// qualified name, user name field hidden) or the "Other user" tile where the user types a name.
#pragma once

#include <memory>
#include <string>

#include "cp_interfaces.h"
#include "fields.h"
#include "health.h"
#include "settings.h"

namespace gh {

/// What every tile of one provider instance shares: the scenario and the settings read when it began.
struct Session {
  ProviderSettings settings;
  gatehouse::cp::Usage usage = gatehouse::cp::Usage::Logon;
  DWORD flags = 0;
  bool remote = false;
  // Other providers' tiles hidden here (HideOtherProviders on, the filter registered, logon or
  // unlock, not safe mode): sent as "enforced" with every authenticate request.
  bool enforced = false;
  // The status line carries " (not enforced: other sign-in options are shown)".
  bool notEnforcedNote = false;
  std::string computer;
  std::shared_ptr<HealthWatcher> health;
};

class Credential final : public ICredentialProviderCredential2 {
 public:
  /// `sid` and `qualifiedName` empty: the "Other user" tile.
  Credential(std::shared_ptr<const Session> session, std::wstring sid, std::wstring qualifiedName);

  // IUnknown
  IFACEMETHODIMP QueryInterface(REFIID riid, void** ppv) override;
  IFACEMETHODIMP_(ULONG) AddRef() override;
  IFACEMETHODIMP_(ULONG) Release() override;

  // ICredentialProviderCredential
  IFACEMETHODIMP Advise(ICredentialProviderCredentialEvents* pcpce) override;
  IFACEMETHODIMP UnAdvise() override;
  IFACEMETHODIMP SetSelected(BOOL* pbAutoLogon) override;
  IFACEMETHODIMP SetDeselected() override;
  IFACEMETHODIMP GetFieldState(DWORD dwFieldID, CREDENTIAL_PROVIDER_FIELD_STATE* pcpfs, CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE* pcpfis) override;
  IFACEMETHODIMP GetStringValue(DWORD dwFieldID, LPWSTR* ppsz) override;
  IFACEMETHODIMP GetBitmapValue(DWORD dwFieldID, HBITMAP* phbmp) override;
  IFACEMETHODIMP GetCheckboxValue(DWORD dwFieldID, BOOL* pbChecked, LPWSTR* ppszLabel) override;
  IFACEMETHODIMP GetSubmitButtonValue(DWORD dwFieldID, DWORD* pdwAdjacentTo) override;
  IFACEMETHODIMP GetComboBoxValueCount(DWORD dwFieldID, DWORD* pcItems, DWORD* pdwSelectedItem) override;
  IFACEMETHODIMP GetComboBoxValueAt(DWORD dwFieldID, DWORD dwItem, LPWSTR* ppszItem) override;
  IFACEMETHODIMP SetStringValue(DWORD dwFieldID, LPCWSTR psz) override;
  IFACEMETHODIMP SetCheckboxValue(DWORD dwFieldID, BOOL bChecked) override;
  IFACEMETHODIMP SetComboBoxSelectedValue(DWORD dwFieldID, DWORD dwSelectedItem) override;
  IFACEMETHODIMP CommandLinkClicked(DWORD dwFieldID) override;
  IFACEMETHODIMP GetSerialization(CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE* pcpgsr, CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs,
                                  LPWSTR* ppszOptionalStatusText, CREDENTIAL_PROVIDER_STATUS_ICON* pcpsiOptionalStatusIcon) override;
  IFACEMETHODIMP ReportResult(NTSTATUS ntsStatus, NTSTATUS ntsSubstatus, LPWSTR* ppszOptionalStatusText,
                              CREDENTIAL_PROVIDER_STATUS_ICON* pcpsiOptionalStatusIcon) override;

  // ICredentialProviderCredential2
  IFACEMETHODIMP GetUserSid(LPWSTR* sid) override;

  /// The qualified name this tile is bound to (empty for "Other user").
  const std::wstring& qualifiedName() const { return qualifiedName_; }
  /// Puts credentials handed over by RDP (after NLA) or CredUI into the fields.
  void prefill(const std::wstring& user, const std::wstring& password);
  /// Pushes the current status line to LogonUI (call on LogonUI's thread).
  void refreshStatus();

 private:
  ~Credential();
  void setString(DWORD id, const std::wstring& value);
  void setState(DWORD id, CREDENTIAL_PROVIDER_FIELD_STATE state);
  void setInteractive(DWORD id, CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE state);
  void showCodeField(bool show);
  std::wstring statusLine() const;
  void clearSecrets(bool password, bool code);
  HRESULT refuse(const std::string& text, CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE* pcpgsr, LPWSTR* ppszText,
                 CREDENTIAL_PROVIDER_STATUS_ICON* icon);

  LONG ref_ = 1;
  std::shared_ptr<const Session> session_;
  std::wstring sid_;
  std::wstring qualifiedName_;
  std::wstring values_[FID_COUNT];
  CREDENTIAL_PROVIDER_FIELD_STATE states_[FID_COUNT];
  CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE interactive_[FID_COUNT];
  ICredentialProviderCredentialEvents* events_ = nullptr;
  std::wstring note_;  // replaces the service status until the next change (e.g. "Enter the code")
  std::wstring shownStatus_;
  bool codeVisible_ = false;
};

/// A 128x128 tile image (the caller owns and deletes it).
HBITMAP createTileBitmap();

}  // namespace gh
