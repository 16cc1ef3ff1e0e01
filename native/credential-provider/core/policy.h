// The credential provider's decisions, free of Windows headers so they are unit tested on Linux:
// how a typed account name splits into domain and user, which accounts skip the second factor,
// what the password pre-check's Windows error means, and what to do with the endpoint's answer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gatehouse/client.h"
#include "gatehouse/messages.h"

namespace gatehouse::cp {

/// How the usage scenario arrives from LogonUI / CredUI (CREDENTIAL_PROVIDER_USAGE_SCENARIO).
enum class Usage { Logon = 1, Unlock = 2, ChangePassword = 3, CredUI = 4, Plap = 5 };

/// The scenario sent to the endpoint: `rdp` for logon or unlock inside a remote session,
/// `credui` for a credential prompt (local or remote), else `logon` / `unlock`.
Scenario scenarioFor(Usage usage, bool remoteSession);

struct AccountName {
  std::string domain;  // empty for a UPN
  std::string user;    // the user name, or the whole UPN
  bool upn = false;
};

/// "CORP\alice" -> CORP + alice; ".\alice" -> <computer> + alice; "alice@corp.example" -> UPN;
/// "alice" -> <defaultDomain, or the computer name when that is empty> + alice. Spaces around
/// each part are dropped.
AccountName splitAccountName(const std::string& typed, const std::string& defaultDomain, const std::string& computerName);

using EqualsIgnoreCase = std::function<bool(const std::string&, const std::string&)>;
/// ASCII case folding (the DLL passes CompareStringOrdinal for full Unicode).
bool asciiEqualsIgnoreCase(const std::string& a, const std::string& b);

/// True when `account` matches an ExcludedAccounts entry: "user" (that user name in any domain or
/// on this computer), "DOMAIN\user", ".\user" (the local account only), or a UPN "user@domain"
/// (when the user typed that UPN). Such accounts log on with the password alone.
bool isExcluded(const AccountName& account, const std::vector<std::string>& entries, const std::string& computerName,
                const EqualsIgnoreCase& equals = asciiEqualsIgnoreCase);

/// The entries of ExcludedAccounts as read from the registry: a REG_MULTI_SZ gives one per
/// string; a REG_SZ (what the MSI's EXCLUDEDACCOUNTS property writes) is split at ';' (no Windows
/// account name holds one). Empty entries are dropped.
std::vector<std::string> excludedEntries(const std::vector<std::string>& values, bool multiString);

/// A number setting written as text (REG_SZ "1", what the MSI writes) rather than a REG_DWORD:
/// decimal digits only, at most 9; false for anything else (the setting is then absent).
bool parseNumberText(const std::string& text, std::uint32_t& out);

enum class FailMode { Closed, Open };
/// "open" (any case) is Open; anything else, including empty or a typo, is Closed.
FailMode parseFailMode(const std::string& value);

struct Settings {
  std::string pipePath;
  bool rdpOnly = false;
  std::vector<std::string> excludedAccounts;
  FailMode failMode = FailMode::Closed;
  bool hideOtherProviders = true;  // on unless HideOtherProviders is a REG_DWORD 0
  bool showCodeField = false;
  std::string defaultDomain;
  std::string pipeServerSid = "S-1-5-18";  // LocalSystem; "*" turns the check off
  unsigned healthTimeoutMs = 3000;
  unsigned authTimeoutSeconds = 90;
  /// The self-service password portal behind the tile's "Change password" link (empty: no link).
  std::string changePasswordUrl;
};

/// ChangePasswordUrl as read from the registry: an https:// address of printable ASCII without
/// spaces, at most 2048 characters, else empty (no link rather than a link to something odd).
std::string checkedChangePasswordUrl(const std::string& raw);

enum class LinkAction { Open, Show };
/// What the "Change password" link does. Logon and unlock run in LogonUI as SYSTEM on the secure
/// desktop: a browser started there would run as SYSTEM, a way out of the logon screen, so the
/// address is shown for a phone or another computer. A credential prompt runs in the signed-in
/// user's session: the address opens in the user's browser.
LinkAction changePasswordAction(Usage usage);

/// The status text that shows the address.
std::string changePasswordText(const std::string& url);

/// What the provider knows of the filter's situation when its scenario starts.
struct FilterState {
  bool safeMode = false;          // GetSystemMetrics(SM_CLEANBOOT): the filter hides nothing
  bool filterRegistered = true;   // the Gatehouse filter is under "Credential Provider Filters"
};

/// Whether the other providers' tiles are hidden where this provider runs, i.e. the second factor
/// cannot be skipped by picking Windows' own password tile: HideOtherProviders on, the filter
/// registered, at logon or unlock (the filter never touches credential prompts or change
/// password), and not in safe mode (where the filter hides nothing). Sent as `enforced` with
/// every authenticate request.
bool otherProvidersHidden(const Settings& settings, Usage usage, const FilterState& filter);

/// Whether the tile's status line carries the "not enforced" note: whenever other tiles are shown
/// at logon or unlock; in a credential prompt (never filtered, by design) only when
/// HideOtherProviders is off or the filter is not registered, so a machine set up as recommended
/// shows no warning in every UAC prompt that no setting could remove.
bool statusSaysNotEnforced(const Settings& settings, Usage usage, const FilterState& filter);

/// " (not enforced: other sign-in options are shown)", appended to the service status line.
extern const char* const kNotEnforcedNote;
/// The status line as shown on the tile: `statusLine`, plus kNotEnforcedNote when `notEnforced`.
std::string statusLineWithEnforcement(const std::string& statusLine, bool notEnforced);

enum class SecondFactor { Required, SkipExcluded, SkipConsole };
/// Whether this logon needs the second factor: excluded accounts never do; with RdpOnly only
/// remote sessions do.
SecondFactor secondFactorFor(const Settings& settings, const AccountName& account, bool remoteSession, const std::string& computerName,
                             const EqualsIgnoreCase& equals = asciiEqualsIgnoreCase);

/// The password pre-check: LogonUserW(LOGON32_LOGON_NETWORK) first; its Windows error decides.
enum class PasswordVerdict {
  Verified,        // the password is right (also: right but expired / must change - Windows handles that)
  Wrong,           // wrong user name or password: no push is sent
  TryInteractive,  // the network check cannot tell (network logon denied by policy, no domain
                   // controller, blank password): retry with LOGON32_LOGON_INTERACTIVE, which also
                   // uses cached domain credentials
  Refused          // the account cannot log on (disabled, locked out, expired, hours, ...)
};

struct PasswordCheck {
  PasswordVerdict verdict;
  std::string text;  // for the logon screen when not Verified / TryInteractive
};

/// `win32Error` 0 means LogonUserW succeeded. `interactive` says which attempt this was.
PasswordCheck classifyLogonUserError(std::uint32_t win32Error, bool interactive);

enum class SubmitAction { Logon, AskForCode, Refuse };

struct SubmitDecision {
  SubmitAction action = SubmitAction::Refuse;
  std::string text;  // status text for the tile (empty for Logon without a note)
};

/// What to do with the answer to `authenticate`. Only "approved" logs on. An endpoint that cannot
/// be reached refuses with the status text saying why (FailMode closed, the default); FailMode open
/// logs on with the password alone only when the pipe could not be opened at all (not on a
/// timeout or a broken reply).
SubmitDecision decideAfterAuthenticate(const AuthenticateCall& call, FailMode failMode);

}  // namespace gatehouse::cp
