// The portable heart of the Windows service (gatehouse-service.exe): what it does with each
// request on the logon pipe, without any Windows API, so that it is unit-tested on Linux.
//
//   pipe frame -> parseServiceRequest -> Forwarder -> the appliance's agent API (over an
//   AgentTransport: WinHTTP on Windows, a fake in the tests) -> reply frame(s)
//
// It answers exactly as `gatehouse agent` (app/agent.ts) does, so a credential provider cannot
// tell the two apart: the same statuses, results and messages, the interim "number" reply of
// number matching passed through, and every failure of the path to the appliance turned into the
// health texts the logon screen shows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/messages.h"
#include "offline_logon.h"

namespace gatehouse::service {

/// One request read from the pipe (protocol v1), validated as the Node endpoint validates it.
struct ServiceRequest {
  std::int64_t id = 0;
  enum class Op { Health, Authenticate } op = Op::Health;
  AuthenticateRequest auth;  // for Authenticate
};

/// A request, or why not: `id` is set when the frame had one (the error reply then carries it).
struct ParsedRequest {
  std::optional<ServiceRequest> request;
  std::optional<std::int64_t> id;
  std::string error;
};

ParsedRequest parseServiceRequest(std::string_view payload);

/// The error reply for a frame that could not be used (the connection is closed after it).
std::string errorReply(std::optional<std::int64_t> id, std::string_view message);

/// What one call to the appliance gave.
struct AgentAnswer {
  enum class Kind { Ok, Unreachable, Timeout, Refused, Error } kind = Kind::Error;
  int httpStatus = 0;
  std::string contentType;
  /// The body (for application/x-ndjson: the lines as they came, possibly several).
  std::string body;
  /// For the failures: what happened (a Windows error text, "HTTP 500", ...); never a secret.
  std::string detail;
};

/// The HTTPS leg to the appliance. `onChunk` sees the body as it streams (for the interim number
/// of number matching); the answer has the whole body too.
class AgentTransport {
 public:
  virtual ~AgentTransport() = default;
  virtual AgentAnswer get(const std::string& path, int timeoutMs) = 0;
  virtual AgentAnswer post(const std::string& path, const std::string& jsonBody, int timeoutMs, const std::function<void(std::string_view)>& onChunk) = 0;
};

extern const char* const kUnreachableMessage;
extern const char* const kTimeoutMessage;

struct ForwarderOptions {
  int healthTimeoutMs = 10'000;
  /// Longer than the push TTL: the person decides meanwhile.
  int requestTimeoutMs = 120'000;
};

/// Outcome classes a caller logs and writes to the Event Log (native/README.md has the IDs).
enum class Outcome { Health, Approved, Denied, Expired, UnknownUser, CodeRequired, Locked, Error, ApplianceUnreachable, OfflineCodeRequired, OfflineApproved, OfflineDenied, OfflineLocked };

class Forwarder {
 public:
  Forwarder(AgentTransport& transport, ForwarderOptions options) : transport_(transport), options_(options) {}
  /// With offline logon (offline_logon.h): asks the appliance for offline codes on each sign-in,
  /// keeps them, checks codes against them while the appliance cannot be reached, and reports the
  /// sign-ins decided so once it answers again. `nowMs`: the clock (unix milliseconds).
  Forwarder(AgentTransport& transport, ForwarderOptions options, OfflineLogons& offline, std::function<std::int64_t()> nowMs)
      : transport_(transport), options_(options), offline_(&offline), nowMs_(std::move(nowMs)) {}

  /// Answers one request: `send` gets the reply payload (JSON, without the frame header), first an
  /// interim "number" reply where the request allows one and the appliance streams it, then the
  /// final reply. Returns what happened, for the log.
  Outcome handle(const ServiceRequest& req, const std::function<void(const std::string&)>& send, std::string* detail = nullptr);

 private:
  Outcome offlineAnswer(const ServiceRequest& req, const std::function<void(const std::string&)>& send, std::string& detail);
  void reportOffline();
  AgentTransport& transport_;
  ForwarderOptions options_;
  OfflineLogons* offline_ = nullptr;
  std::function<std::int64_t()> nowMs_;
  std::mutex reporting_;
};

/// The request body the agent API takes for an authenticate request (the pipe request's fields).
std::string agentAuthenticateBody(const AuthenticateRequest& req, bool passNumberMatching);

/// Splits an application/x-ndjson body into its lines' JSON objects; false when one is broken.
bool readJsonLines(std::string_view body, std::vector<JsonValue>& out, std::string* error);

}  // namespace gatehouse::service
