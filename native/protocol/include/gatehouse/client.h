// The protocol client: one connection, several requests in flight, replies matched by id in any
// order; plus one-shot helpers for `health` and `authenticate` that connect, ask and disconnect.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gatehouse/frame.h"
#include "gatehouse/messages.h"
#include "gatehouse/transport.h"

namespace gatehouse {

class PipeClient {
 public:
  explicit PipeClient(std::unique_ptr<Transport> transport) : transport_(std::move(transport)) {}

  /// A fresh request id (1, 2, 3, ... on this connection).
  std::int64_t nextId() { return nextId_++; }

  /// Sends one request (its JSON already carries its id).
  IoResult send(const std::string& payload, Deadline deadline);

  enum class WaitStatus { Ok, Timeout, Closed, ProtocolError, IoError };
  struct WaitResult {
    WaitStatus status = WaitStatus::IoError;
    Reply reply;
    std::string error;
  };

  /// Waits for the final reply carrying `id`; replies to other ids that arrive first are kept for
  /// their own wait(). Interim replies (`"result":"number"`) to `id` go to `interim` as they come
  /// and the wait goes on; interim replies to other ids are dropped (an interim reply is only
  /// worth showing while someone waits). A reply without id (the endpoint's answer to a frame it
  /// could not read), a bad frame or bad JSON breaks the connection: this and every later wait() fail.
  WaitResult wait(std::int64_t id, Deadline deadline, const std::function<void(const Reply&)>& interim = {});

  bool broken() const { return !broken_.empty(); }

 private:
  std::unique_ptr<Transport> transport_;
  FrameDecoder decoder_;
  std::map<std::int64_t, Reply> stash_;
  std::int64_t nextId_ = 1;
  std::string broken_;
  WaitStatus brokenStatus_ = WaitStatus::IoError;
};

struct EndpointOptions {
  std::string path = defaultEndpointPath();
  ConnectOptions connect;
  Connector connector;  // empty: connectEndpoint()
};

enum class CallStatus {
  Ok,           // a reply arrived
  Unreachable,  // could not connect (the service is not running, or not there)
  Timeout,      // connected, no reply in time
  Failed,       // connection closed, broken frame or JSON, untrusted server, I/O error
};

struct RawCall {
  CallStatus status = CallStatus::Failed;
  Reply reply;
  std::string error;
};

/// Connects, sends the request built for a fresh id, waits for its reply (interim replies go to
/// `interim`), disconnects; all before `deadline`.
RawCall callOnce(const EndpointOptions& endpoint, const std::function<std::string(std::int64_t id)>& build, Deadline deadline,
                 const std::function<void(const Reply&)>& interim = {});

struct HealthCall {
  CallStatus status = CallStatus::Failed;
  HealthReply reply;
  std::string error;
};
HealthCall callHealth(const EndpointOptions& endpoint, Deadline deadline);

struct AuthenticateCall {
  CallStatus status = CallStatus::Failed;
  AuthenticateReply reply;
  std::string error;
};
/// `onNumber`: number matching's interim reply, called on this thread while the call waits.
AuthenticateCall callAuthenticate(const EndpointOptions& endpoint, const AuthenticateRequest& request, Deadline deadline,
                                  const std::function<void(const NumberShown&)>& onNumber = {});

}  // namespace gatehouse
