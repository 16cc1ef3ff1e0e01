#include "policy.h"

#include "gatehouse/status.h"

namespace gatehouse::cp {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

}  // namespace

Scenario scenarioFor(Usage usage, bool remoteSession) {
  switch (usage) {
    case Usage::CredUI: return Scenario::CredUI;
    case Usage::Unlock: return remoteSession ? Scenario::Rdp : Scenario::Unlock;
    default: return remoteSession ? Scenario::Rdp : Scenario::Logon;
  }
}

AccountName splitAccountName(const std::string& typedRaw, const std::string& defaultDomain, const std::string& computerName) {
  AccountName a;
  const std::string typed = trim(typedRaw);
  const auto slash = typed.find('\\');
  if (slash != std::string::npos) {
    a.domain = trim(typed.substr(0, slash));
    a.user = trim(typed.substr(slash + 1));
    if (a.domain == "." || a.domain.empty()) a.domain = computerName;
    return a;
  }
  if (typed.find('@') != std::string::npos) {
    a.user = typed;
    a.upn = true;
    return a;
  }
  a.user = typed;
  a.domain = defaultDomain.empty() ? computerName : defaultDomain;
  return a;
}

bool asciiEqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string> excludedEntries(const std::vector<std::string>& values, bool multiString) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    if (multiString) {
      if (!trim(v).empty()) out.push_back(trim(v));
      continue;
    }
    std::size_t start = 0;
    while (start <= v.size()) {
      const std::size_t semi = v.find(';', start);
      const std::string part = trim(v.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
      if (!part.empty()) out.push_back(part);
      if (semi == std::string::npos) break;
      start = semi + 1;
    }
  }
  return out;
}

bool isExcluded(const AccountName& account, const std::vector<std::string>& entries, const std::string& computerName,
                const EqualsIgnoreCase& equals) {
  for (const std::string& raw : entries) {
    const std::string entry = trim(raw);
    if (entry.empty()) continue;
    const auto slash = entry.find('\\');
    if (slash != std::string::npos) {
      std::string domain = trim(entry.substr(0, slash));
      const std::string user = trim(entry.substr(slash + 1));
      if (domain == "." || domain.empty()) domain = computerName;
      if (!account.upn && equals(account.domain, domain) && equals(account.user, user)) return true;
    } else if (entry.find('@') != std::string::npos) {
      if (account.upn && equals(account.user, entry)) return true;
    } else if (!account.upn && equals(account.user, entry)) {
      return true;
    }
  }
  return false;
}

FailMode parseFailMode(const std::string& value) { return asciiEqualsIgnoreCase(trim(value), "open") ? FailMode::Open : FailMode::Closed; }

bool otherProvidersHidden(const Settings& settings, Usage usage, const FilterState& filter) {
  return settings.hideOtherProviders && filter.filterRegistered && !filter.safeMode && (usage == Usage::Logon || usage == Usage::Unlock);
}

bool statusSaysNotEnforced(const Settings& settings, Usage usage, const FilterState& filter) {
  if (usage == Usage::CredUI) return !settings.hideOtherProviders || !filter.filterRegistered;
  return !otherProvidersHidden(settings, usage, filter);
}

const char* const kNotEnforcedNote = " (not enforced: other sign-in options are shown)";

std::string statusLineWithEnforcement(const std::string& statusLine, bool notEnforced) {
  return notEnforced ? statusLine + kNotEnforcedNote : statusLine;
}

SecondFactor secondFactorFor(const Settings& settings, const AccountName& account, bool remoteSession, const std::string& computerName,
                             const EqualsIgnoreCase& equals) {
  if (isExcluded(account, settings.excludedAccounts, computerName, equals)) return SecondFactor::SkipExcluded;
  if (settings.rdpOnly && !remoteSession) return SecondFactor::SkipConsole;
  return SecondFactor::Required;
}

PasswordCheck classifyLogonUserError(std::uint32_t e, bool interactive) {
  switch (e) {
    case 0:
    case 1330:  // ERROR_PASSWORD_EXPIRED: only reported for the right password
    case 1907:  // ERROR_PASSWORD_MUST_CHANGE: idem
      return {PasswordVerdict::Verified, ""};
    case 1326:  // ERROR_LOGON_FAILURE
      return {PasswordVerdict::Wrong, "The user name or password is incorrect. Try again."};
    case 1385:  // ERROR_LOGON_TYPE_NOT_GRANTED
    case 1311:  // ERROR_NO_LOGON_SERVERS
    case 1355:  // ERROR_NO_SUCH_DOMAIN
    case 1789:  // ERROR_TRUSTED_RELATIONSHIP_FAILURE
    case 1908:  // ERROR_DOMAIN_CONTROLLER_NOT_FOUND
    case 1327:  // ERROR_ACCOUNT_RESTRICTION (e.g. a blank password is limited to console logon)
      if (!interactive) return {PasswordVerdict::TryInteractive, ""};
      if (e == 1385) return {PasswordVerdict::Refused, "This account is not allowed to sign in here."};
      if (e == 1327) return {PasswordVerdict::Refused, "Account restrictions prevent this user from signing in."};
      return {PasswordVerdict::Refused, "No domain controller is available to check the password, and this account has no cached sign-in."};
    case 1331:  // ERROR_ACCOUNT_DISABLED
      return {PasswordVerdict::Refused, "This account has been disabled."};
    case 1909:  // ERROR_ACCOUNT_LOCKED_OUT
      return {PasswordVerdict::Refused, "This account is locked out. Ask your administrator."};
    case 1793:  // ERROR_ACCOUNT_EXPIRED
      return {PasswordVerdict::Refused, "This account has expired."};
    case 1328:  // ERROR_INVALID_LOGON_HOURS
      return {PasswordVerdict::Refused, "This account may not sign in at this time."};
    case 1329:  // ERROR_INVALID_WORKSTATION
      return {PasswordVerdict::Refused, "This account may not sign in on this computer."};
    default:
      return {PasswordVerdict::Refused, "error (password check failed with Windows error " + std::to_string(e) + ")"};
  }
}

SubmitDecision decideAfterAuthenticate(const AuthenticateCall& call, FailMode failMode) {
  SubmitDecision d;
  if (call.status != CallStatus::Ok) {
    HealthCall h;
    h.status = call.status;
    h.error = call.error;
    const std::string why = statusText(healthOutcome(h));
    if (failMode == FailMode::Open && call.status == CallStatus::Unreachable) {
      d.action = SubmitAction::Logon;
      d.text = "Signed in without the second factor (FailMode=open): " + why;
      return d;
    }
    d.action = SubmitAction::Refuse;
    d.text = "Sign-in refused: " + why;
    return d;
  }
  const std::string& m = call.reply.message;
  auto or_ = [&](const char* fallback) { return m.empty() ? std::string(fallback) : m; };
  switch (call.reply.result) {
    case AuthResult::Approved:
      d.action = SubmitAction::Logon;
      return d;
    case AuthResult::CodeRequired:
      d.action = SubmitAction::AskForCode;
      d.text = or_("Enter the code from your authenticator app.");
      return d;
    case AuthResult::Denied:
      d.text = or_("The sign-in was denied.");
      break;
    case AuthResult::Expired:
      d.text = or_("The approval request expired. Try again.");
      break;
    case AuthResult::UnknownUser:
      d.text = or_("This account is not enrolled for Gatehouse. Ask your administrator.");
      break;
    case AuthResult::Locked:
      d.text = or_("This account is locked in Gatehouse. Ask your administrator.");
      break;
    case AuthResult::Error:
      d.text = "error (" + (m.empty() ? std::string("the Gatehouse service reported an error") : m) + ")";
      break;
  }
  d.action = SubmitAction::Refuse;
  return d;
}

bool parseNumberText(const std::string& text, std::uint32_t& out) {
  if (text.empty() || text.size() > 9) return false;
  std::uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  out = v;
  return true;
}

std::string checkedChangePasswordUrl(const std::string& raw) {
  if (raw.size() > 2048 || raw.rfind("https://", 0) != 0 || raw.size() <= 8) return std::string();
  for (char c : raw) {
    if (c <= ' ' || c > '~') return std::string();
  }
  return raw;
}

LinkAction changePasswordAction(Usage usage) { return usage == Usage::CredUI ? LinkAction::Open : LinkAction::Show; }

std::string changePasswordText(const std::string& url) { return "To change your password, go to " + url + " on your phone or another computer."; }

}  // namespace gatehouse::cp
