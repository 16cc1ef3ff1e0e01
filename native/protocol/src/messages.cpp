#include "gatehouse/messages.h"

namespace gatehouse {

const char* scenarioName(Scenario s) {
  switch (s) {
    case Scenario::Logon: return "logon";
    case Scenario::Unlock: return "unlock";
    case Scenario::Rdp: return "rdp";
    case Scenario::CredUI: return "credui";
  }
  return "logon";
}

std::optional<Scenario> parseScenario(std::string_view name) {
  if (name == "logon") return Scenario::Logon;
  if (name == "unlock") return Scenario::Unlock;
  if (name == "rdp") return Scenario::Rdp;
  if (name == "credui") return Scenario::CredUI;
  return std::nullopt;
}

std::string buildHealthRequest(std::int64_t id) { return JsonObjectWriter().field("id", id).field("op", "health").finish(); }

std::string buildAuthenticateRequest(std::int64_t id, const AuthenticateRequest& req) {
  JsonObjectWriter w;
  w.field("id", id)
      .field("op", "authenticate")
      .field("username", req.username)
      .field("domain", req.domain)
      .field("workstation", req.workstation)
      .field("scenario", scenarioName(req.scenario));
  if (req.code) w.field("code", *req.code);
  if (req.enforced) w.field("enforced", *req.enforced);
  if (req.numberMatching) w.field("number_matching", true);
  return w.finish();
}

const char* healthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::Ok: return "ok";
    case HealthStatus::ApiUnreachable: return "api_unreachable";
    case HealthStatus::ApiTimeout: return "api_timeout";
    case HealthStatus::Error: return "error";
  }
  return "error";
}

const char* authResultName(AuthResult r) {
  switch (r) {
    case AuthResult::Approved: return "approved";
    case AuthResult::Denied: return "denied";
    case AuthResult::Expired: return "expired";
    case AuthResult::UnknownUser: return "unknown_user";
    case AuthResult::CodeRequired: return "code_required";
    case AuthResult::Locked: return "locked";
    case AuthResult::Error: return "error";
  }
  return "error";
}

bool parseReply(std::string_view payload, Reply& out, std::string* error) {
  std::string err;
  auto v = parseJson(payload, &err);
  if (!v) {
    if (error) *error = "reply is not JSON: " + err;
    return false;
  }
  if (!v->isObject()) {
    if (error) *error = "reply is not a JSON object";
    return false;
  }
  const JsonValue* id = v->get("id");
  if (id == nullptr || id->isNull()) {
    out.id.reset();
  } else if (id->isInteger()) {
    out.id = id->asInteger();
  } else {
    if (error) *error = "reply id is not an integer";
    return false;
  }
  out.body = std::move(*v);
  return true;
}

namespace {
std::string messageOf(const JsonValue& body) {
  if (auto m = body.getString("message")) return *m;
  if (auto e = body.getString("error")) return *e;
  return {};
}
}  // namespace

HealthReply readHealthReply(const JsonValue& body) {
  HealthReply r;
  r.message = messageOf(body);
  const auto status = body.getString("status");
  r.rawStatus = status.value_or("");
  if (!status) {
    r.status = HealthStatus::Error;
    if (r.message.empty()) r.message = "reply without status";
  } else if (*status == "ok") {
    r.status = HealthStatus::Ok;
  } else if (*status == "api_unreachable") {
    r.status = HealthStatus::ApiUnreachable;
  } else if (*status == "api_timeout") {
    r.status = HealthStatus::ApiTimeout;
  } else {
    r.status = HealthStatus::Error;
    if (*status != "error" && r.message.empty()) r.message = "unknown status \"" + *status + "\"";
  }
  return r;
}

std::optional<NumberShown> readNumberReply(const JsonValue& body) {
  const auto result = body.getString("result");
  if (!result || *result != "number") return std::nullopt;
  const JsonValue* n = body.get("number");
  if (n == nullptr || !n->isInteger() || n->asInteger() < 0 || n->asInteger() > 9999) return std::nullopt;
  NumberShown out;
  out.number = static_cast<int>(n->asInteger());
  out.message = messageOf(body);
  if (out.message.empty()) out.message = "On your phone, pick " + std::to_string(out.number) + ".";
  return out;
}

AuthenticateReply readAuthenticateReply(const JsonValue& body) {
  AuthenticateReply r;
  r.message = messageOf(body);
  const auto result = body.getString("result");
  r.rawResult = result.value_or("");
  r.result = AuthResult::Error;
  if (!result) {
    if (r.message.empty()) r.message = "reply without result";
    return r;
  }
  static const AuthResult all[] = {AuthResult::Approved, AuthResult::Denied,       AuthResult::Expired, AuthResult::UnknownUser,
                                   AuthResult::CodeRequired, AuthResult::Locked, AuthResult::Error};
  for (AuthResult a : all) {
    if (*result == authResultName(a)) {
      r.result = a;
      return r;
    }
  }
  if (r.message.empty()) r.message = "unknown result \"" + *result + "\"";
  return r;
}

}  // namespace gatehouse
