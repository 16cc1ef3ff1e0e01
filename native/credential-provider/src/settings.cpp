#include "settings.h"

#include "gatehouse/transport.h"
#include "win_util.h"

namespace gh {

ProviderSettings readSettings() {
  ProviderSettings s;
  std::wstring v;
  DWORD d = 0;
  s.pipePath = readString(L"PipePath", v) && !v.empty() ? narrow(v) : gatehouse::defaultEndpointPath();
  s.failMode = gatehouse::cp::parseFailMode(readString(L"FailMode", v) ? narrow(v) : "");
  s.rdpOnly = readDword(L"RdpOnly", d) && d != 0;
  // On by default: off only with a REG_DWORD 0 (an absent value, or one of another type, leaves it on).
  if (readDword(L"HideOtherProviders", d)) s.hideOtherProviders = d != 0;
  s.showCodeField = readDword(L"ShowCodeField", d) && d != 0;
  if (readString(L"DefaultDomain", v)) s.defaultDomain = narrow(v);
  if (readString(L"ChangePasswordUrl", v)) s.changePasswordUrl = gatehouse::cp::checkedChangePasswordUrl(narrow(v));
  if (readString(L"AuthenticationPackage", v) && !v.empty()) s.authPackage = narrow(v);
  if (readString(L"PipeServerSid", v) && !v.empty()) s.pipeServerSid = narrow(v);
  if (readDword(L"HealthTimeoutMs", d) && d >= 100 && d <= 60000) s.healthTimeoutMs = d;
  if (readDword(L"AuthTimeoutSeconds", d) && d >= 5 && d <= 600) s.authTimeoutSeconds = d;
  std::vector<std::wstring> list;
  bool multi = true;
  if (readMultiString(L"ExcludedAccounts", list, &multi)) {
    std::vector<std::string> raw;
    for (const auto& e : list) raw.push_back(narrow(e));
    s.excludedAccounts = gatehouse::cp::excludedEntries(raw, multi);
  }
  readMultiString(L"AllowedProviders", s.allowedProviders);
  return s;
}

}  // namespace gh
