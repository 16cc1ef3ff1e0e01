// Requests and replies of the Windows logon pipe protocol, version 1 (DESIGN.md):
//   {"id":1,"op":"health"} -> {"id":1,"status":"ok"|"api_unreachable"|"api_timeout"|"error","message":"..."}
//   {"id":2,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7",
//    "scenario":"logon"|"unlock"|"rdp"|"credui","code":"123456","enforced":true}
//      (code only when typed; enforced, an optional extension of v1, only when the sender knows it)
//   -> {"id":2,"result":"approved"|"denied"|"expired"|"unknown_user"|"code_required"|"locked"|"error",
//       "message":"text for the logon screen"}
// With "number_matching":true in the request (an optional extension of v1: this client can show a
// number while it waits), the endpoint may first send an interim reply with the same id,
//   {"id":2,"result":"number","number":42,"message":"On your phone, pick 42 to approve this sign-in."}
// and the final reply later.
// No password ever crosses the pipe: there is no field for one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gatehouse/json.h"

namespace gatehouse {

enum class Scenario { Logon, Unlock, Rdp, CredUI };
const char* scenarioName(Scenario s);
std::optional<Scenario> parseScenario(std::string_view name);

struct AuthenticateRequest {
  std::string username;
  std::string domain;
  std::string workstation;
  Scenario scenario = Scenario::Logon;
  std::optional<std::string> code;  // only where the user typed one
  // Whether the other sign-in options are hidden where this request comes from (the credential
  // provider's HideOtherProviders filter in effect): true, the second factor cannot be skipped by
  // choosing Windows' own password tile; false, it can ("not enforced"). Absent: the field is not
  // sent (a sender that does not know, e.g. the diagnosis CLI without --enforced). An optional,
  // backward-compatible field of protocol v1: endpoints that do not know it ignore it.
  std::optional<bool> enforced;
  // This client shows the number of an interim "number" reply while it waits (number matching).
  // Sent only when true; endpoints that do not know it ignore it.
  bool numberMatching = false;
};

/// An interim reply's number and the text to show with it.
struct NumberShown {
  int number = 0;
  std::string message;
};

/// The interim reply of number matching (`"result":"number"` with an integer number 0..9999), or
/// nothing for any other body (a final reply).
std::optional<NumberShown> readNumberReply(const JsonValue& body);

std::string buildHealthRequest(std::int64_t id);
std::string buildAuthenticateRequest(std::int64_t id, const AuthenticateRequest& req);

enum class HealthStatus { Ok, ApiUnreachable, ApiTimeout, Error };
const char* healthStatusName(HealthStatus s);

enum class AuthResult { Approved, Denied, Expired, UnknownUser, CodeRequired, Locked, Error };
const char* authResultName(AuthResult r);

/// Any reply: an object with an integer `id` (absent or null on an error reply to a frame the
/// endpoint could not read).
struct Reply {
  std::optional<std::int64_t> id;
  JsonValue body;
};

/// Parses a reply frame's payload. False with `error` when it is not a JSON object or `id` is
/// neither an integer, null nor absent.
bool parseReply(std::string_view payload, Reply& out, std::string* error = nullptr);

struct HealthReply {
  HealthStatus status = HealthStatus::Error;
  std::string rawStatus;  // as sent, e.g. "ok"
  std::string message;
};

struct AuthenticateReply {
  AuthResult result = AuthResult::Error;
  std::string rawResult;  // as sent, e.g. "code_required"
  std::string message;
};

/// Reads a health reply body. An unknown or missing status is read as Error (the message says
/// what arrived), so a newer endpoint never makes the client show "OK" by mistake.
HealthReply readHealthReply(const JsonValue& body);
/// Reads an authenticate reply body. An unknown or missing result is read as Error: only the
/// exact string "approved" ever approves.
AuthenticateReply readAuthenticateReply(const JsonValue& body);

}  // namespace gatehouse
