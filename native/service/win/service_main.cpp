// gatehouse-service.exe: the Windows service that serves the logon pipe for the credential
// provider and forwards each request to the appliance's agent API over HTTPS (replacing
// `gatehouse agent` on workstations: no Node.js there).
//
//   gatehouse-service.exe              run as the service "GatehouseService" (started by the SCM)
//   gatehouse-service.exe --console    run in the foreground (diagnosis, and the tests under Wine):
//                                      events also go to standard error; stops at end of input
//
// Settings: HKLM\SOFTWARE\Gatehouse\Service (service_config.h; native/README.md lists them). The
// token is read from TokenFile (ACL: SYSTEM and administrators) or the protected registry value
// Token, never from the command line.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>

#include "event_log.h"
#include "messages.h"
#include "offline_seal.h"
#include "pipe_server.h"
#include "service_config.h"
#include "service_core.h"
#include "win_text.h"
#include "winhttp_transport.h"

using namespace gatehouse;
using namespace gatehouse::service;

namespace {

const wchar_t* const kServiceName = L"GatehouseService";
const wchar_t* const kKey = L"SOFTWARE\\Gatehouse\\Service";

SERVICE_STATUS_HANDLE statusHandle = nullptr;
SERVICE_STATUS status{};
PipeServer* running = nullptr;

void setState(DWORD state, DWORD exitCode = NO_ERROR) {
  if (statusHandle == nullptr) return;
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  status.dwWin32ExitCode = exitCode == NO_ERROR ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  status.dwServiceSpecificExitCode = exitCode;
  status.dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 30'000;
  SetServiceStatus(statusHandle, &status);
}

/// Every value of the settings key as text (REG_SZ as it is, REG_DWORD in decimal); `Token` left out.
std::map<std::string, std::string> readRegistry(std::string* token) {
  std::map<std::string, std::string> out;
  HKEY key = nullptr;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, kKey, 0, KEY_READ | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS) return out;
  for (DWORD i = 0;; ++i) {
    wchar_t name[256];
    DWORD nameLen = 256;
    DWORD type = 0;
    BYTE data[4096];
    DWORD dataLen = sizeof data - 2;
    const LONG r = RegEnumValueW(key, i, name, &nameLen, nullptr, &type, data, &dataLen);
    if (r == ERROR_NO_MORE_ITEMS) break;
    if (r != ERROR_SUCCESS) continue;
    std::string value;
    if (type == REG_SZ || type == REG_EXPAND_SZ) {
      data[dataLen] = 0;
      data[dataLen + 1] = 0;
      value = narrow(reinterpret_cast<wchar_t*>(data));
    } else if (type == REG_DWORD && dataLen == 4) {
      value = std::to_string(*reinterpret_cast<DWORD*>(data));
    } else {
      continue;
    }
    const std::string n = narrow(std::wstring(name, nameLen));
    if (n == "Token") {
      if (token != nullptr) *token = value;
      SecureZeroMemory(data, sizeof data);
      continue;
    }
    out[n] = value;
  }
  RegCloseKey(key);
  return out;
}

const char* scenarioText(Scenario s) { return scenarioName(s); }

int serve(bool console) {
  EventLog events(console);
  std::string registryToken;
  const auto values = readRegistry(&registryToken);
  const ConfigResult cfg = readConfig(values);
  if (!cfg.config) {
    events.report(GH_EVENT_CONFIG_ERROR, {cfg.error});
    setState(SERVICE_STOPPED, 1);
    return 2;
  }
  // The same pipe in --console as in the service: SYSTEM only unless AllowInteractiveUser=1. On
  // Windows run --console as SYSTEM (psexec -s) to use it with the credential provider.
  const ServiceConfig& config = *cfg.config;
  std::string token;
  if (!config.tokenFile.empty()) {
    std::string raw;
    if (!readWholeFile(config.tokenFile, raw, 1024 * 1024)) {
      events.report(GH_EVENT_CONFIG_ERROR, {"TokenFile: cannot read " + config.tokenFile});
      setState(SERVICE_STOPPED, 2);
      return 2;
    }
    token = cleanToken(raw);
    SecureZeroMemory(raw.data(), raw.size());
  } else {
    token = cleanToken(registryToken);
  }
  SecureZeroMemory(registryToken.data(), registryToken.size());
  if (token.empty()) {
    events.report(GH_EVENT_CONFIG_ERROR, {"no agent token: set TokenFile (a file only SYSTEM and administrators can read) or the protected value Token"});
    setState(SERVICE_STOPPED, 3);
    return 2;
  }
  std::vector<std::string> caDer;
  if (!config.caFile.empty()) {
    std::string pem;
    if (!readWholeFile(config.caFile, pem, 1024 * 1024) || (caDer = pemCertificates(pem)).empty()) {
      events.report(GH_EVENT_CONFIG_ERROR, {"CaFile: cannot read a PEM certificate from " + config.caFile});
      setState(SERVICE_STOPPED, 4);
      return 2;
    }
  }
  WinHttpTransport transport(config, token, caDer);
  SecureZeroMemory(token.data(), token.size());
  // Offline logon: the state is loaded from its sealed file and written back after each change.
  const std::string offlineFile = config.offlineStateFile.empty() ? defaultOfflineStateFile() : config.offlineStateFile;
  OfflineLogons offline(bcryptPbkdf2, [&events, offlineFile](const std::string& state) {
    std::string why;
    if (!saveSealed(offlineFile, state, &why)) events.report(GH_EVENT_OFFLINE_STATE_ERROR, {why});
  });
  bool offlineOn = config.offlineLogon;
  if (offlineOn && config.offlineStateFile.empty()) {
    // The default folder is made safe first (a custom OfflineStateFile's folder is the admin's).
    std::string why;
    if (!secureStateFolder(offlineFile, &why)) {
      events.report(GH_EVENT_OFFLINE_STATE_ERROR, {why + "; offline logon is off until it is fixed"});
      offlineOn = false;
    }
  }
  if (offlineOn) {
    std::string bytes;
    std::string why;
    if (!loadSealed(offlineFile, bytes, &why)) {
      // Kept aside, not overwritten: a passing problem (a sharing violation) must not lose them.
      MoveFileExW(wide(offlineFile).c_str(), wide(offlineFile + ".unreadable").c_str(), MOVEFILE_REPLACE_EXISTING);
      events.report(GH_EVENT_OFFLINE_STATE_ERROR, {why + "; kept as " + offlineFile + ".unreadable, starting without offline codes"});
    } else if (!bytes.empty() && !offline.load(bytes)) {
      MoveFileExW(wide(offlineFile).c_str(), wide(offlineFile + ".unreadable").c_str(), MOVEFILE_REPLACE_EXISTING);
      events.report(GH_EVENT_OFFLINE_STATE_ERROR, {offlineFile + " is not a state this version wrote; kept as " + offlineFile + ".unreadable, starting without offline codes"});
    }
  } else if (!config.offlineLogon) {
    // Turned off: codes kept from before are removed, not left on the disk.
    DeleteFileW(wide(offlineFile).c_str());
  }
  auto nowMs = []() -> std::int64_t {
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    const std::uint64_t t = (static_cast<std::uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
    return static_cast<std::int64_t>((t - 116444736000000000ULL) / 10000);
  };
  const ForwarderOptions options{config.healthTimeoutMs, config.requestTimeoutMs};
  Forwarder forwarder = offlineOn ? Forwarder(transport, options, offline, nowMs) : Forwarder(transport, options);

  // Health changes are reported once each, not per request.
  std::mutex healthMutex;
  int lastHealth = -1;  // -1 unknown, 0 unreachable, 1 reachable
  auto health = [&](bool reachable, const std::string& detail) {
    std::lock_guard<std::mutex> lock(healthMutex);
    const int now = reachable ? 1 : 0;
    if (now == lastHealth) return;
    lastHealth = now;
    if (reachable) events.report(GH_EVENT_APPLIANCE_REACHABLE, {config.applianceUrl});
    else events.report(GH_EVENT_APPLIANCE_UNREACHABLE, {detail.empty() ? config.applianceUrl : detail});
  };

  PipeEvents pipeEvents;
  pipeEvents.answered = [&](const ServiceRequest& req, Outcome o, const std::string& detail) {
    if (req.op == ServiceRequest::Op::Health) {
      health(detail.empty(), detail);
      return;
    }
    const std::string user = req.auth.domain.empty() ? req.auth.username : req.auth.domain + "\\" + req.auth.username;
    const std::vector<std::string> who = {user, req.auth.workstation, scenarioText(req.auth.scenario)};
    switch (o) {
      case Outcome::Approved: events.report(GH_EVENT_LOGON_APPROVED, who); break;
      case Outcome::Denied: events.report(GH_EVENT_LOGON_DENIED, who); break;
      case Outcome::Expired: events.report(GH_EVENT_LOGON_EXPIRED, who); break;
      case Outcome::UnknownUser: events.report(GH_EVENT_UNKNOWN_USER, who); break;
      case Outcome::Locked: events.report(GH_EVENT_LOCKED, who); break;
      case Outcome::CodeRequired: break;  // a step, not a decision
      case Outcome::OfflineCodeRequired: health(false, detail); break;
      case Outcome::OfflineApproved: health(false, detail), events.report(GH_EVENT_OFFLINE_APPROVED, who); break;
      case Outcome::OfflineDenied: health(false, detail), events.report(GH_EVENT_OFFLINE_WRONG_CODE, who); break;
      case Outcome::OfflineLocked: health(false, detail), events.report(GH_EVENT_OFFLINE_LOCKED, who); break;
      case Outcome::ApplianceUnreachable:
        health(false, detail);
        events.report(GH_EVENT_LOGON_ERROR, {who[0], who[1], who[2], detail.empty() ? "the appliance cannot be reached" : detail});
        break;
      default: events.report(GH_EVENT_LOGON_ERROR, {who[0], who[1], who[2], detail.empty() ? "error" : detail}); break;
    }
    const bool offlineAnswer = o == Outcome::OfflineCodeRequired || o == Outcome::OfflineApproved || o == Outcome::OfflineDenied || o == Outcome::OfflineLocked;
    if (o != Outcome::ApplianceUnreachable && o != Outcome::Error && !offlineAnswer) health(true, "");
  };
  pipeEvents.refused = [&](unsigned long pid, const std::string& why) { events.report(GH_EVENT_PIPE_CLIENT_REFUSED, {std::to_string(pid), why}); };
  pipeEvents.badRequest = [&](const std::string& why) { events.report(GH_EVENT_PIPE_BAD_REQUEST, {why}); };

  PipeServer server(config, forwarder, pipeEvents);
  std::string error;
  if (!server.start(error)) {
    events.report(GH_EVENT_CONFIG_ERROR, {error});
    setState(SERVICE_STOPPED, 5);
    return 2;
  }
  running = &server;
  events.report(GH_EVENT_SERVICE_STARTED, {"\\\\.\\pipe\\" + config.pipeName, config.applianceUrl});
  setState(SERVICE_RUNNING);
  std::thread stopper;
  if (console) {
    // --console: stop at the end of standard input (the test harness closes it) or Ctrl+C.
    stopper = std::thread([&server]() {
      char buf[256];
      while (std::fgets(buf, sizeof buf, stdin) != nullptr) {
      }
      server.stop();
    });
  }
  server.run();
  running = nullptr;
  if (stopper.joinable()) stopper.join();
  events.report(GH_EVENT_SERVICE_STOPPED, {});
  setState(SERVICE_STOPPED);
  return 0;
}

DWORD WINAPI control(DWORD code, DWORD, LPVOID, LPVOID) {
  if (code == SERVICE_CONTROL_STOP || code == SERVICE_CONTROL_SHUTDOWN) {
    setState(SERVICE_STOP_PENDING);
    if (running != nullptr) running->stop();
    return NO_ERROR;
  }
  return code == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
  statusHandle = RegisterServiceCtrlHandlerExW(kServiceName, control, nullptr);
  setState(SERVICE_START_PENDING);
  serve(false);
}

BOOL WINAPI consoleCtrl(DWORD) {
  if (running != nullptr) running->stop();
  return TRUE;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc >= 2 && std::wstring(argv[1]) == L"--console") {
    SetConsoleCtrlHandler(consoleCtrl, TRUE);
    return serve(true);
  }
  if (argc >= 2) {
    std::fprintf(stderr, "usage: gatehouse-service.exe [--console]\n");
    return 64;
  }
  SERVICE_TABLE_ENTRYW table[] = {{const_cast<wchar_t*>(kServiceName), serviceMain}, {nullptr, nullptr}};
  if (!StartServiceCtrlDispatcherW(table)) {
    std::fprintf(stderr, "gatehouse-service.exe is a Windows service (GatehouseService); run it with --console to try it in a window\n");
    return 1;
  }
  return 0;
}
