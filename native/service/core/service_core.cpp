#include "service_core.h"

#include <cmath>

#include "gatehouse/json.h"

namespace gatehouse::service {

const char* const kUnreachableMessage = "service can not connect to API. Check network connectivity and API parameters.";
const char* const kTimeoutMessage = "API call timed out.";

namespace {

/// Length as JavaScript counts it (UTF-16 code units), for the same limits as the Node endpoint.
std::size_t utf16Length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) n += (c >= 0xF0) ? 2 : 1;
  }
  return n;
}

/// A short string without control characters (the Node endpoint's `text(v, max)`).
std::optional<std::string> text(const JsonValue* v, std::size_t max) {
  if (v == nullptr || !v->isString()) return std::nullopt;
  const std::string& s = v->asString();
  if (utf16Length(s) > max) return std::nullopt;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return std::nullopt;
  }
  return s;
}

bool isAbsent(const JsonValue* v) { return v == nullptr || v->isNull(); }

bool blank(const std::string& s) {
  for (unsigned char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

}  // namespace

ParsedRequest parseServiceRequest(std::string_view payload) {
  ParsedRequest out;
  std::string why;
  auto parsed = parseJson(payload, &why);
  if (!parsed) {
    out.error = "frame is not JSON";
    return out;
  }
  if (!parsed->isObject()) {
    out.error = "frame is not a JSON object";
    return out;
  }
  const JsonValue& o = *parsed;
  const JsonValue* idv = o.get("id");
  // JavaScript's Number.isSafeInteger: an integral number within +-(2^53 - 1).
  const double kSafe = 9007199254740991.0;
  if (idv == nullptr || !idv->isNumber() || std::floor(idv->asNumber()) != idv->asNumber() || std::fabs(idv->asNumber()) > kSafe) {
    out.error = "request has no integer id";
    return out;
  }
  const std::int64_t id = idv->isInteger() ? idv->asInteger() : static_cast<std::int64_t>(idv->asNumber());
  out.id = id;
  const auto op = o.getString("op");
  if (op && *op == "health") {
    out.request = ServiceRequest{id, ServiceRequest::Op::Health, {}};
    return out;
  }
  if (!op || *op != "authenticate") {
    std::string shown = op ? *op : (o.get("op") == nullptr ? "undefined" : toJson(*o.get("op")));
    if (shown.size() > 38) shown.resize(38);
    out.error = "unknown op \"" + shown + "\"";
    return out;
  }
  ServiceRequest r{id, ServiceRequest::Op::Authenticate, {}};
  const auto username = text(o.get("username"), 256);
  const JsonValue emptyString = JsonValue::string("");
  const JsonValue* d = o.get("domain");
  const JsonValue* w = o.get("workstation");
  const auto domain = text(isAbsent(d) ? &emptyString : d, 256);
  const auto workstation = text(isAbsent(w) ? &emptyString : w, 256);
  if (!username || blank(*username)) {
    out.error = "authenticate needs a username";
    return out;
  }
  if (!domain || !workstation) {
    out.error = "domain and workstation must be short strings";
    return out;
  }
  const auto scenario = o.getString("scenario");
  const auto parsedScenario = scenario ? parseScenario(*scenario) : std::nullopt;
  if (!parsedScenario) {
    out.error = "scenario must be logon, unlock, rdp or credui";
    return out;
  }
  const JsonValue* codev = o.get("code");
  if (!isAbsent(codev)) {
    const auto code = text(codev, 16);
    if (!code) {
      out.error = "code must be a short string";
      return out;
    }
    r.auth.code = *code;
  }
  const JsonValue* enforced = o.get("enforced");
  if (!isAbsent(enforced) && !enforced->isBool()) {
    out.error = "enforced must be true or false";
    return out;
  }
  const JsonValue* nm = o.get("number_matching");
  if (!isAbsent(nm) && !nm->isBool()) {
    out.error = "number_matching must be true or false";
    return out;
  }
  r.auth.username = *username;
  r.auth.domain = *domain;
  r.auth.workstation = *workstation;
  r.auth.scenario = *parsedScenario;
  if (!isAbsent(enforced)) r.auth.enforced = enforced->asBool();
  r.auth.numberMatching = !isAbsent(nm) && nm->asBool();
  out.request = r;
  return out;
}

std::string errorReply(std::optional<std::int64_t> id, std::string_view message) {
  JsonObjectWriter w;
  if (id) w.field("id", *id);
  else w.nullField("id");
  return w.field("result", "error").field("message", message).finish();
}

std::string agentAuthenticateBody(const AuthenticateRequest& req, bool passNumberMatching) {
  AuthenticateRequest copy = req;
  copy.numberMatching = passNumberMatching;
  return buildAuthenticateRequest(1, copy);
}

bool readJsonLines(std::string_view body, std::vector<JsonValue>& out, std::string* error) {
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t nl = body.find('\n', start);
    std::string_view line = body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.find_first_not_of(" \t\r") != std::string_view::npos) {
      auto v = parseJson(line, error);
      if (!v) return false;
      if (!v->isObject()) {
        if (error) *error = "a line is not a JSON object";
        return false;
      }
      out.push_back(std::move(*v));
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return true;
}

namespace {

std::string stringOr(const JsonValue& o, std::string_view key, std::string_view fallback) {
  auto s = o.getString(key);
  return s ? *s : std::string(fallback);
}

/// The final body of an answer: the last JSON line of a stream that is not an interim number, or
/// the one JSON object of a plain answer. `interim` sees each number line.
std::optional<JsonValue> finalBody(const AgentAnswer& a, std::string& detail) {
  const bool ndjson = a.contentType.rfind("application/x-ndjson", 0) == 0;
  if (a.httpStatus != 200) {
    detail = "appliance answered HTTP " + std::to_string(a.httpStatus);
    return std::nullopt;
  }
  if (ndjson) {
    std::vector<JsonValue> lines;
    std::string why;
    if (!readJsonLines(a.body, lines, &why)) {
      detail = "broken answer: " + why.substr(0, 100);
      return std::nullopt;
    }
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (it->get("result") != nullptr && !readNumberReply(*it)) return *it;
    }
    detail = "the appliance sent no final answer";
    return std::nullopt;
  }
  auto v = parseJson(a.body);
  if (!v || !v->isObject()) {
    detail = "appliance answered HTTP " + std::to_string(a.httpStatus);
    return std::nullopt;
  }
  return v;
}

Outcome outcomeOf(const std::string& result) {
  if (result == "approved") return Outcome::Approved;
  if (result == "denied") return Outcome::Denied;
  if (result == "expired") return Outcome::Expired;
  if (result == "unknown_user") return Outcome::UnknownUser;
  if (result == "code_required") return Outcome::CodeRequired;
  if (result == "locked") return Outcome::Locked;
  return Outcome::Error;
}

}  // namespace

Outcome Forwarder::handle(const ServiceRequest& req, const std::function<void(const std::string&)>& send, std::string* detailOut) {
  std::string detail;
  if (req.op == ServiceRequest::Op::Health) {
    const AgentAnswer a = transport_.get("health", options_.healthTimeoutMs);
    JsonObjectWriter w;
    w.field("id", req.id);
    if (a.kind == AgentAnswer::Kind::Ok) {
      if (auto body = finalBody(a, detail)) {
        send(w.field("status", stringOr(*body, "status", "error")).field("message", stringOr(*body, "message", "")).finish());
        if (offline_ != nullptr) reportOffline();
        return Outcome::Health;
      }
      send(w.field("status", "error").field("message", "error (" + detail + ")").finish());
    } else if (a.kind == AgentAnswer::Kind::Unreachable) {
      send(w.field("status", "api_unreachable").field("message", kUnreachableMessage).finish());
      detail = a.detail;
    } else if (a.kind == AgentAnswer::Kind::Timeout) {
      send(w.field("status", "api_timeout").field("message", kTimeoutMessage).finish());
      detail = a.detail;
    } else {
      detail = a.kind == AgentAnswer::Kind::Refused ? "the appliance refused the agent token" : a.detail;
      send(w.field("status", "error").field("message", "error (" + detail + ")").finish());
    }
    if (detailOut) *detailOut = detail;
    return Outcome::Health;
  }

  // The number is passed on only where the client can show it. With offline logon the final
  // reply is passed on as soon as it arrives too: the offline codes that may follow it take the
  // appliance seconds to compute, and the person signing in does not wait for them.
  const bool canShow = req.auth.numberMatching;
  const std::string key = offline_ != nullptr ? OfflineLogons::keyOf(req.auth) : std::string();
  std::string streamed;
  bool numberSent = false;
  std::optional<std::string> earlyResult;
  auto onChunk = [&](std::string_view chunk) {
    if (earlyResult || ((!canShow || numberSent) && offline_ == nullptr)) return;
    streamed.append(chunk);
    std::size_t nl;
    while (!earlyResult && (nl = streamed.find('\n')) != std::string::npos) {
      const std::string line = streamed.substr(0, nl);
      streamed.erase(0, nl + 1);
      auto v = parseJson(line);
      if (!v || !v->isObject()) continue;
      if (auto n = readNumberReply(*v)) {
        if (!canShow || numberSent) continue;
        send(JsonObjectWriter().field("id", req.id).field("result", "number").field("number", n->number).field("message", n->message).finish());
        numberSent = true;
      } else if (offline_ != nullptr && v->get("result") != nullptr) {
        earlyResult = stringOr(*v, "result", "error");
        send(JsonObjectWriter().field("id", req.id).field("result", *earlyResult).field("message", stringOr(*v, "message", "")).finish());
      }
    }
  };
  std::string path = "authenticate";
  if (offline_ != nullptr) path += "?offline_until=" + std::to_string(offline_->heldThrough(key));
  const AgentAnswer a = transport_.post(path, agentAuthenticateBody(req.auth, canShow), options_.requestTimeoutMs, onChunk);
  JsonObjectWriter w;
  w.field("id", req.id);
  Outcome outcome = Outcome::Error;
  // The final reply already went to the tile: the request is answered, whatever became of the
  // rest of the stream (the offline codes after it may have been cut off).
  if (a.kind == AgentAnswer::Kind::Ok || earlyResult) {
    std::optional<std::string> result = earlyResult;
    if (!result) {
      if (auto body = finalBody(a, detail)) {
        result = stringOr(*body, "result", "error");
        send(w.field("result", *result).field("message", stringOr(*body, "message", "")).finish());
      } else {
        send(w.field("result", "error").field("message", "error (" + detail + ")").finish());
      }
    }
    if (result) outcome = outcomeOf(*result);
    if (offline_ != nullptr && result) {
      if (*result == "approved") {
        // The lockout ends; a code typed online is spent here too. Then the fresh codes, if the
        // whole stream arrived.
        offline_->onlineApproved(key, nowMs_(), req.auth.code.has_value() && !req.auth.code->empty());
        std::vector<JsonValue> lines;
        if (a.kind == AgentAnswer::Kind::Ok && a.httpStatus == 200 && readJsonLines(a.body, lines, nullptr)) {
          for (const auto& l : lines) {
            const JsonValue* m = l.get("offline");
            if (m == nullptr || !m->isObject()) continue;
            std::string why;
            if (!offline_->take(key, *m, &why)) detail = why;
          }
        }
      } else if (*result == "denied" || *result == "unknown_user" || *result == "locked") {
        // Refused online: whatever codes this machine holds for the user stop working now.
        offline_->forget(key);
      }
      if (a.kind == AgentAnswer::Kind::Ok) reportOffline();
    }
    if (detailOut) *detailOut = detail;
    return outcome;
  }
  if ((a.kind == AgentAnswer::Kind::Unreachable || a.kind == AgentAnswer::Kind::Timeout) && offline_ != nullptr && offline_->covers(key, nowMs_() / 1000)) {
    detail = a.detail;
    outcome = offlineAnswer(req, send, detail);
  } else if (a.kind == AgentAnswer::Kind::Unreachable || a.kind == AgentAnswer::Kind::Timeout) {
    detail = a.detail;
    send(w.field("result", "error").field("message", a.kind == AgentAnswer::Kind::Unreachable ? kUnreachableMessage : kTimeoutMessage).finish());
    outcome = Outcome::ApplianceUnreachable;
  } else {
    detail = a.kind == AgentAnswer::Kind::Refused ? "the appliance refused the agent token" : a.detail;
    send(w.field("result", "error").field("message", "error (" + detail + ")").finish());
  }
  if (detailOut) *detailOut = detail;
  return outcome;
}

Outcome Forwarder::offlineAnswer(const ServiceRequest& req, const std::function<void(const std::string&)>& send, std::string& detail) {
  JsonObjectWriter w;
  w.field("id", req.id);
  if (!req.auth.code || req.auth.code->empty()) {
    // The logon screen asks for the code, as it does online for a TOTP user.
    send(w.field("result", "code_required").field("message", kOfflineCodeRequiredMessage).finish());
    return Outcome::OfflineCodeRequired;
  }
  switch (offline_->verify(req.auth, *req.auth.code, nowMs_())) {
    case OfflineVerdict::Approved:
      send(w.field("result", "approved").field("message", kOfflineApprovedMessage).finish());
      return Outcome::OfflineApproved;
    case OfflineVerdict::Denied:
      send(w.field("result", "denied").field("message", kOfflineWrongMessage).finish());
      return Outcome::OfflineDenied;
    case OfflineVerdict::Locked:
      send(w.field("result", "locked").field("message", kOfflineLockedMessage).finish());
      return Outcome::OfflineLocked;
    case OfflineVerdict::NotAvailable:
      break;
  }
  send(w.field("result", "error").field("message", kUnreachableMessage).finish());
  if (detail.empty()) detail = "the appliance cannot be reached";
  return Outcome::ApplianceUnreachable;
}

void Forwarder::reportOffline() {
  // One connection reports at a time (the others go on without waiting): the same batch is not
  // sent twice.
  std::unique_lock<std::mutex> reporting(reporting_, std::try_to_lock);
  if (!reporting.owns_lock()) return;
  // A few batches at most per request: a long backlog is worked off over the next requests.
  for (int round = 0; round < 5; ++round) {
    std::uint64_t through = 0;
    const std::string body = offline_->reportBody(&through);
    if (through == 0) return;
    const AgentAnswer a = transport_.post("offline-logons", body, options_.healthTimeoutMs, {});
    if (a.kind != AgentAnswer::Kind::Ok) return;
    // 200: taken. A refusal that no retry changes (400, 413) drops the batch rather than
    // blocking every later report; a limit or a bad token (429, 401) is tried again later.
    const bool refusedForGood = a.httpStatus >= 400 && a.httpStatus < 500 && a.httpStatus != 401 && a.httpStatus != 408 && a.httpStatus != 429;
    if (a.httpStatus != 200 && !refusedForGood) return;
    offline_->reported(through);
  }
}

}  // namespace gatehouse::service
