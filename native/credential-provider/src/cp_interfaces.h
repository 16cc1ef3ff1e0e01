// The credential provider COM interfaces, structures and enumerations, declared from Microsoft's
// documentation (credentialprovider.h reference on learn.microsoft.com): Debian 12's mingw-w64
// headers do not have credentialprovider.h. Method order is the vtable order of the documented
// interfaces; IIDs are the documented ones.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <unknwn.h>
#include <ntsecapi.h>  // NTSTATUS, LSA functions
#include <propidl.h>   // PROPVARIANT
#include <wtypes.h>    // PROPERTYKEY
#ifndef REFPROPERTYKEY
#define REFPROPERTYKEY const PROPERTYKEY&
#endif

// ---- enumerations ----

typedef enum _CREDENTIAL_PROVIDER_USAGE_SCENARIO {
  CPUS_INVALID = 0,
  CPUS_LOGON = 1,
  CPUS_UNLOCK_WORKSTATION = 2,
  CPUS_CHANGE_PASSWORD = 3,
  CPUS_CREDUI = 4,
  CPUS_PLAP = 5
} CREDENTIAL_PROVIDER_USAGE_SCENARIO;

typedef enum _CREDENTIAL_PROVIDER_FIELD_TYPE {
  CPFT_INVALID = 0,
  CPFT_LARGE_TEXT = 1,
  CPFT_SMALL_TEXT = 2,
  CPFT_COMMAND_LINK = 3,
  CPFT_EDIT_TEXT = 4,
  CPFT_PASSWORD_TEXT = 5,
  CPFT_TILE_IMAGE = 6,
  CPFT_CHECKBOX = 7,
  CPFT_COMBOBOX = 8,
  CPFT_SUBMIT_BUTTON = 9
} CREDENTIAL_PROVIDER_FIELD_TYPE;

typedef enum _CREDENTIAL_PROVIDER_FIELD_STATE {
  CPFS_HIDDEN = 0,
  CPFS_DISPLAY_IN_SELECTED_TILE = 1,
  CPFS_DISPLAY_IN_DESELECTED_TILE = 2,
  CPFS_DISPLAY_IN_BOTH = 3
} CREDENTIAL_PROVIDER_FIELD_STATE;

typedef enum _CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE {
  CPFIS_NONE = 0,
  CPFIS_READONLY = 1,
  CPFIS_DISABLED = 2,
  CPFIS_FOCUSED = 3
} CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE;

typedef enum _CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE {
  CPGSR_NO_CREDENTIAL_NOT_FINISHED = 0,
  CPGSR_NO_CREDENTIAL_FINISHED = 1,
  CPGSR_RETURN_CREDENTIAL_FINISHED = 2,
  CPGSR_RETURN_NO_CREDENTIAL_FINISHED = 3
} CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE;

typedef enum _CREDENTIAL_PROVIDER_STATUS_ICON {
  CPSI_NONE = 0,
  CPSI_ERROR = 1,
  CPSI_WARNING = 2,
  CPSI_SUCCESS = 3
} CREDENTIAL_PROVIDER_STATUS_ICON;

typedef enum _CREDENTIAL_PROVIDER_CREDENTIAL_FIELD_OPTIONS {
  CPCFO_NONE = 0,
  CPCFO_ENABLE_PASSWORD_REVEAL = 0x1,
  CPCFO_IS_EMAIL_ADDRESS = 0x2,
  CPCFO_ENABLE_TOUCH_KEYBOARD_AUTO_INVOKE = 0x4,
  CPCFO_NUMBERS_ONLY = 0x8,
  CPCFO_SHOW_ENGLISH_KEYBOARD = 0x10
} CREDENTIAL_PROVIDER_CREDENTIAL_FIELD_OPTIONS;

#define CREDENTIAL_PROVIDER_NO_DEFAULT ((DWORD)-1)

// ---- structures ----

typedef struct _CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR {
  DWORD dwFieldID;
  CREDENTIAL_PROVIDER_FIELD_TYPE cpft;
  LPWSTR pszLabel;
  GUID guidFieldType;
} CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR;

typedef struct _CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION {
  ULONG ulAuthenticationPackage;
  GUID clsidCredentialProvider;
  ULONG cbSerialization;
  byte* rgbSerialization;
} CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION;

// ---- interfaces ----

struct ICredentialProviderCredentialEvents;

struct ICredentialProviderCredential : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE Advise(ICredentialProviderCredentialEvents* pcpce) = 0;
  virtual HRESULT STDMETHODCALLTYPE UnAdvise() = 0;
  virtual HRESULT STDMETHODCALLTYPE SetSelected(BOOL* pbAutoLogon) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetDeselected() = 0;
  virtual HRESULT STDMETHODCALLTYPE GetFieldState(DWORD dwFieldID, CREDENTIAL_PROVIDER_FIELD_STATE* pcpfs,
                                                  CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE* pcpfis) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetStringValue(DWORD dwFieldID, LPWSTR* ppsz) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetBitmapValue(DWORD dwFieldID, HBITMAP* phbmp) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetCheckboxValue(DWORD dwFieldID, BOOL* pbChecked, LPWSTR* ppszLabel) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetSubmitButtonValue(DWORD dwFieldID, DWORD* pdwAdjacentTo) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetComboBoxValueCount(DWORD dwFieldID, DWORD* pcItems, DWORD* pdwSelectedItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetComboBoxValueAt(DWORD dwFieldID, DWORD dwItem, LPWSTR* ppszItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetStringValue(DWORD dwFieldID, LPCWSTR psz) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetCheckboxValue(DWORD dwFieldID, BOOL bChecked) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetComboBoxSelectedValue(DWORD dwFieldID, DWORD dwSelectedItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE CommandLinkClicked(DWORD dwFieldID) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetSerialization(CREDENTIAL_PROVIDER_GET_SERIALIZATION_RESPONSE* pcpgsr,
                                                     CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs, LPWSTR* ppszOptionalStatusText,
                                                     CREDENTIAL_PROVIDER_STATUS_ICON* pcpsiOptionalStatusIcon) = 0;
  virtual HRESULT STDMETHODCALLTYPE ReportResult(NTSTATUS ntsStatus, NTSTATUS ntsSubstatus, LPWSTR* ppszOptionalStatusText,
                                                 CREDENTIAL_PROVIDER_STATUS_ICON* pcpsiOptionalStatusIcon) = 0;
};

struct ICredentialProviderCredential2 : public ICredentialProviderCredential {
  virtual HRESULT STDMETHODCALLTYPE GetUserSid(LPWSTR* sid) = 0;
};

struct ICredentialProviderCredentialEvents : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE SetFieldState(ICredentialProviderCredential* pcpc, DWORD dwFieldID, CREDENTIAL_PROVIDER_FIELD_STATE cpfs) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldInteractiveState(ICredentialProviderCredential* pcpc, DWORD dwFieldID,
                                                             CREDENTIAL_PROVIDER_FIELD_INTERACTIVE_STATE cpfis) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldString(ICredentialProviderCredential* pcpc, DWORD dwFieldID, LPCWSTR psz) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldCheckbox(ICredentialProviderCredential* pcpc, DWORD dwFieldID, BOOL bChecked, LPCWSTR pszLabel) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldBitmap(ICredentialProviderCredential* pcpc, DWORD dwFieldID, HBITMAP hbmp) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldComboBoxSelectedItem(ICredentialProviderCredential* pcpc, DWORD dwFieldID, DWORD dwSelectedItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE DeleteFieldComboBoxItem(ICredentialProviderCredential* pcpc, DWORD dwFieldID, DWORD dwItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE AppendFieldComboBoxItem(ICredentialProviderCredential* pcpc, DWORD dwFieldID, LPCWSTR pszItem) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldSubmitButton(ICredentialProviderCredential* pcpc, DWORD dwFieldID, DWORD dwAdjacentTo) = 0;
  virtual HRESULT STDMETHODCALLTYPE OnCreatingWindow(HWND* phwndOwner) = 0;
};

struct ICredentialProviderCredentialEvents2 : public ICredentialProviderCredentialEvents {
  virtual HRESULT STDMETHODCALLTYPE BeginFieldUpdates() = 0;
  virtual HRESULT STDMETHODCALLTYPE EndFieldUpdates() = 0;
  virtual HRESULT STDMETHODCALLTYPE SetFieldOptions(ICredentialProviderCredential* credential, DWORD fieldID,
                                                    CREDENTIAL_PROVIDER_CREDENTIAL_FIELD_OPTIONS options) = 0;
};

struct ICredentialProviderEvents : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE CredentialsChanged(UINT_PTR upAdviseContext) = 0;
};

struct ICredentialProvider : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE SetUsageScenario(CREDENTIAL_PROVIDER_USAGE_SCENARIO cpus, DWORD dwFlags) = 0;
  virtual HRESULT STDMETHODCALLTYPE SetSerialization(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcs) = 0;
  virtual HRESULT STDMETHODCALLTYPE Advise(ICredentialProviderEvents* pcpe, UINT_PTR upAdviseContext) = 0;
  virtual HRESULT STDMETHODCALLTYPE UnAdvise() = 0;
  virtual HRESULT STDMETHODCALLTYPE GetFieldDescriptorCount(DWORD* pdwCount) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetFieldDescriptorAt(DWORD dwIndex, CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR** ppcpfd) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetCredentialCount(DWORD* pdwCount, DWORD* pdwDefault, BOOL* pbAutoLogonWithDefault) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetCredentialAt(DWORD dwIndex, ICredentialProviderCredential** ppcpc) = 0;
};

typedef enum _CREDENTIAL_PROVIDER_ACCOUNT_OPTIONS {
  CPAO_NONE = 0,
  CPAO_EMPTY_LOCAL = 0x1,
  CPAO_EMPTY_CONNECTED = 0x2
} CREDENTIAL_PROVIDER_ACCOUNT_OPTIONS;

struct ICredentialProviderUser : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE GetSid(LPWSTR* sid) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetProviderID(GUID* providerID) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetStringValue(REFPROPERTYKEY key, LPWSTR* stringValue) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetValue(REFPROPERTYKEY key, PROPVARIANT* value) = 0;
};

struct ICredentialProviderUserArray : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE SetProviderFilter(REFGUID guidProviderToFilterTo) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetAccountOptions(CREDENTIAL_PROVIDER_ACCOUNT_OPTIONS* credentialProviderAccountOptions) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetCount(DWORD* userCount) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetAt(DWORD userIndex, ICredentialProviderUser** user) = 0;
};

struct ICredentialProviderSetUserArray : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE SetUserArray(ICredentialProviderUserArray* users) = 0;
};

struct ICredentialProviderFilter : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE Filter(CREDENTIAL_PROVIDER_USAGE_SCENARIO cpus, DWORD dwFlags, GUID* rgclsidProviders, BOOL* rgbAllow,
                                           DWORD cProviders) = 0;
  virtual HRESULT STDMETHODCALLTYPE UpdateRemoteCredential(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcsIn,
                                                           CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* pcpcsOut) = 0;
};

// ---- KERB_INTERACTIVE_LOGON / KERB_INTERACTIVE_UNLOCK_LOGON (ntsecapi.h in the SDK) ----
// Declared under our own names so they do not depend on (or clash with) mingw's ntsecapi.h;
// gatehouse_guids.cpp checks them against mingw's declarations and our portable layout.

namespace gh {

enum KerbLogonSubmitType : int { kKerbInteractiveLogon = 2, kKerbWorkstationUnlockLogon = 7 };

struct UnicodeString {
  USHORT Length;
  USHORT MaximumLength;
  PWSTR Buffer;
};

struct KerbInteractiveLogon {
  KerbLogonSubmitType MessageType;
  UnicodeString LogonDomainName;
  UnicodeString UserName;
  UnicodeString Password;
};

struct KerbInteractiveUnlockLogon {
  KerbInteractiveLogon Logon;
  LUID LogonId;
};

}  // namespace gh

// ---- identifiers ----

namespace gh {

// Interfaces (documented IIDs).
extern const IID IID_ICredentialProvider;
extern const IID IID_ICredentialProviderCredential;
extern const IID IID_ICredentialProviderCredential2;
extern const IID IID_ICredentialProviderCredentialEvents;
extern const IID IID_ICredentialProviderCredentialEvents2;
extern const IID IID_ICredentialProviderEvents;
extern const IID IID_ICredentialProviderFilter;
extern const IID IID_ICredentialProviderSetUserArray;
extern const IID IID_ICredentialProviderUserArray;
extern const IID IID_ICredentialProviderUser;

// PKEY_Identity_QualifiedUserName: "the name used to pack an authentication buffer".
extern const PROPERTYKEY PKEY_Identity_QualifiedUserName;

// Field types (CPFG_*, documented with CREDENTIAL_PROVIDER_FIELD_DESCRIPTOR).
extern const GUID CPFG_LOGON_USERNAME;
extern const GUID CPFG_LOGON_PASSWORD;
extern const GUID CPFG_CREDENTIAL_PROVIDER_LOGO;
extern const GUID CPFG_CREDENTIAL_PROVIDER_LABEL;

// Ours. Generated once for Gatehouse; never change them (registrations refer to them).
extern const CLSID CLSID_GatehouseProvider;  // {34b716b4-1ae3-4c3e-901a-ad00b2ee3e3f}
extern const CLSID CLSID_GatehouseFilter;    // {ef7948f1-ea18-4fe5-adbb-69a87acd7f21}
constexpr const wchar_t* kProviderClsidString = L"{34b716b4-1ae3-4c3e-901a-ad00b2ee3e3f}";
constexpr const wchar_t* kFilterClsidString = L"{ef7948f1-ea18-4fe5-adbb-69a87acd7f21}";

}  // namespace gh
