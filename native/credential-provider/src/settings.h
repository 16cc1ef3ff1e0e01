// HKLM\SOFTWARE\Gatehouse, read each time a provider or filter starts (so a change applies at the
// next logon screen without a reboot). Numbers are REG_DWORD, or REG_SZ digits (what the MSI writes):
//   PipePath            REG_SZ        \\.\pipe\gatehouse
//   FailMode            REG_SZ        closed | open        (closed unless exactly "open")
//   RdpOnly             REG_DWORD     0 | 1                (1: the second factor only in remote sessions)
//   ExcludedAccounts    REG_MULTI_SZ  user, DOMAIN\user, .\localuser, user@upn  (password only!)
//   HideOtherProviders  REG_DWORD     1 | 0                (default 1: the filter hides every other tile
//                                                           at logon and unlock; 0: "not enforced")
//   AllowedProviders    REG_MULTI_SZ  CLSIDs the filter keeps visible when hiding
//   ShowCodeField       REG_DWORD     0 | 1                (1: the code field is always shown)
//   DefaultDomain       REG_SZ        domain for a bare user name (default: this computer)
//   PipeServerSid       REG_SZ        S-1-5-18             (account that must serve the pipe; * = any)
//   HealthTimeoutMs     REG_DWORD     3000
//   AuthTimeoutSeconds  REG_DWORD     90                   (longer than the appliance's push TTL)
//   AuthenticationPackage REG_SZ    Negotiate            (LSA package of the serialization; leave it)
//   ChangePasswordUrl   REG_SZ        (none)               https:// self-service password portal: a
//                                                          "Change password" link on the tile
//   LogFile             REG_SZ        (off)                e.g. C:\ProgramData\Gatehouse\credential-provider.log
#pragma once

#include <string>
#include <vector>

#include "../core/policy.h"

namespace gh {

struct ProviderSettings : gatehouse::cp::Settings {
  std::vector<std::wstring> allowedProviders;
  std::string authPackage = "Negotiate";
};

ProviderSettings readSettings();

}  // namespace gh
