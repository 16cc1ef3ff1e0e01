// The service's settings and the pieces of its pipe policy that need no Windows API: read from
// the registry key HKLM\SOFTWARE\Gatehouse\Service (values as text; the MSI writes them), checked
// here, so that a bad value stops the service with a message naming it (Event Log ID 1003).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace gatehouse::service {

struct ServiceConfig {
  /// https://host[:port]/ of the appliance (its agent API is below /api/v1/agent/).
  std::string applianceUrl;
  std::string host;
  int port = 443;
  /// Path below the host ("/", or "/gatehouse/" behind a reverse proxy), ending in "/".
  std::string basePath = "/";
  /// Where the agent token is: a file only SYSTEM and administrators can read (never a command
  /// line). `TokenFile` wins; else the protected registry value `Token`.
  std::string tokenFile;
  /// A PEM file of the CA (or the appliance's own certificate) the appliance's certificate must
  /// chain to, instead of the machine's trusted roots.
  std::string caFile;
  /// SHA-256 of the appliance's certificate (hex, colons allowed): pinned, whatever the chain.
  std::string certSha256;
  /// The logon pipe's name, `\\.\pipe\NAME`.
  std::string pipeName = "gatehouse";
  /// Let the signed-in user's processes connect (for credui: a consent prompt runs as the user).
  bool allowInteractiveUser = false;
  /// Offline logon (offline_logon.h): ask the appliance for offline codes and use them while it
  /// cannot be reached. The appliance sends codes only where its policy allows
  /// (--windows-offline-days, off by default); 0 here refuses them on this machine (a shared PC).
  bool offlineLogon = true;
  /// Where the sealed codes live; default %ProgramData%\Gatehouse\offline.bin.
  std::string offlineStateFile;
  /// Connections one client process may hold open at once.
  int maxConnectionsPerProcess = 4;
  /// Connections in all.
  int maxConnections = 64;
  int healthTimeoutMs = 10'000;
  int requestTimeoutMs = 120'000;
};

struct ConfigResult {
  std::optional<ServiceConfig> config;
  /// The value that is wrong and why, e.g. "ApplianceUrl: must start with https://".
  std::string error;
};

/// Reads the settings from the registry values (name -> text). Names are matched exactly as
/// documented in native/README.md.
ConfigResult readConfig(const std::map<std::string, std::string>& values);

/// The pipe's security descriptor (SDDL): SYSTEM full control, and (only with
/// `allowInteractiveUser`) read/write for the interactive user; nobody else, not Everyone, not
/// Anonymous, not the network. Protected (P): nothing is inherited.
std::string pipeSddl(bool allowInteractiveUser);

/// Counts the open connections per client process and in all; refuses one beyond the limits (a
/// process that opens instance after instance cannot take the pipe from LogonUI).
class ConnectionLimiter {
 public:
  ConnectionLimiter(int perProcess, int total) : perProcess_(perProcess), total_(total) {}
  /// Takes a slot for `pid`; false (nothing taken) when over a limit.
  bool acquire(std::uint32_t pid);
  void release(std::uint32_t pid);
  int open() const { return open_; }
  int openFor(std::uint32_t pid) const;

 private:
  int perProcess_;
  int total_;
  int open_ = 0;
  std::map<std::uint32_t, int> byPid_;
};

/// A token as read from its file: surrounding whitespace (a trailing newline) removed; empty when
/// it is not a plausible token (printable ASCII, 16-512 characters).
std::string cleanToken(const std::string& raw);

/// "AB:cd:01..." or "abcd01..." -> 64 lowercase hex digits, or empty when not a SHA-256.
std::string normalizeSha256(const std::string& raw);

}  // namespace gatehouse::service
