// The Windows side of a submit: the local password check before any push, and the
// KERB_INTERACTIVE_UNLOCK_LOGON serialization LogonUI hands to LSA (Negotiate package).
#pragma once

#include <string>

#include "../core/kerb_pack.h"
#include "../core/policy.h"
#include "cp_interfaces.h"

namespace gh {

/// Checks the password with LogonUserW, network logon first (no profile, no cached-credential
/// side effects), then interactive logon when the network check cannot decide (network logon
/// denied by policy, no domain controller: cached credentials, blank-password restriction). The
/// token is closed at once. `account` is domain + user, or a UPN with no domain.
gatehouse::cp::PasswordCheck checkPassword(const gatehouse::cp::AccountName& account, const std::wstring& password, DWORD* win32Error = nullptr);

/// An LSA authentication package's id (LsaConnectUntrusted + LsaLookupAuthenticationPackage),
/// "Negotiate" unless the AuthenticationPackage setting names another.
HRESULT lookupPackage(const std::string& name, ULONG* package);

/// Packs the logon for `usage` (unlock: KerbWorkstationUnlockLogon, else KerbInteractiveLogon),
/// the password CredProtect'ed for logon and unlock, 32-bit layout when a 32-bit CredUI caller
/// asked for it (CREDUIWIN_PACK_32_WOW), into a CoTaskMemAlloc'ed buffer in `out`.
HRESULT serializeLogon(const gatehouse::cp::AccountName& account, const std::wstring& password, gatehouse::cp::Usage usage, DWORD flags,
                       const std::string& package, CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION* out);

/// Reads a serialization handed to the provider (RDP after NLA, CredUI's input credential).
/// The password comes back unprotected (CredUnprotect) when it was protected.
bool unpackSerialization(const CREDENTIAL_PROVIDER_CREDENTIAL_SERIALIZATION& in, gatehouse::cp::Usage usage, DWORD flags,
                         gatehouse::cp::KerbLogon& out, std::string* error);

/// The layout LogonUI expects for this scenario and flags.
gatehouse::cp::PointerWidth serializationWidth(gatehouse::cp::Usage usage, DWORD flags);

}  // namespace gh
