#include "gatehouse/client.h"

#include <climits>

namespace gatehouse {

long long millisLeft(Deadline d) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - SteadyClock::now()).count();
  if (left <= 0) return 0;
  return left > INT_MAX ? INT_MAX : left;
}

IoResult PipeClient::send(const std::string& payload, Deadline deadline) {
  IoResult r;
  if (broken()) {
    r.status = IoStatus::Error;
    r.error = broken_;
    return r;
  }
  std::string frame;
  std::string err;
  if (!encodeFrame(payload, frame, &err)) {
    r.status = IoStatus::Error;
    r.error = err;
    return r;
  }
  r = transport_->write(frame.data(), frame.size(), deadline);
  if (r.status != IoStatus::Ok && r.status != IoStatus::Timeout) {
    broken_ = r.error.empty() ? "connection lost while sending" : r.error;
    brokenStatus_ = r.status == IoStatus::Closed ? WaitStatus::Closed : WaitStatus::IoError;
  }
  return r;
}

PipeClient::WaitResult PipeClient::wait(std::int64_t id, Deadline deadline, const std::function<void(const Reply&)>& interim) {
  WaitResult out;
  for (;;) {
    auto it = stash_.find(id);
    if (it != stash_.end()) {
      out.status = WaitStatus::Ok;
      out.reply = std::move(it->second);
      stash_.erase(it);
      return out;
    }
    if (broken()) {
      out.status = brokenStatus_;
      out.error = broken_;
      return out;
    }
    // Take every complete frame already buffered before reading more.
    std::string payload;
    const auto st = decoder_.next(payload);
    if (st == FrameDecoder::Status::Error) {
      broken_ = "bad frame from the endpoint: " + decoder_.error();
      brokenStatus_ = WaitStatus::ProtocolError;
      continue;
    }
    if (st == FrameDecoder::Status::Frame) {
      Reply reply;
      std::string err;
      if (!parseReply(payload, reply, &err)) {
        broken_ = "bad reply from the endpoint: " + err;
        brokenStatus_ = WaitStatus::ProtocolError;
        continue;
      }
      if (!reply.id) {
        // The endpoint could not read one of our frames and is closing the connection.
        std::string msg;
        if (auto m = reply.body.getString("message")) msg = *m;
        else if (auto e = reply.body.getString("error")) msg = *e;
        broken_ = "the endpoint refused a request" + (msg.empty() ? std::string() : ": " + msg);
        brokenStatus_ = WaitStatus::ProtocolError;
        continue;
      }
      if (readNumberReply(reply.body)) {
        if (*reply.id == id && interim) interim(reply);
        continue;
      }
      stash_[*reply.id] = std::move(reply);
      continue;
    }
    char buf[8192];
    const IoResult r = transport_->read(buf, sizeof buf, deadline);
    if (r.status == IoStatus::Ok) {
      decoder_.feed(buf, r.bytes);
      continue;
    }
    if (r.status == IoStatus::Timeout) {
      out.status = WaitStatus::Timeout;
      out.error = "no reply within the time limit";
      return out;
    }
    if (r.status == IoStatus::Closed) {
      broken_ = decoder_.buffered() > 0 ? "the endpoint closed the connection in the middle of a frame"
                                        : "the endpoint closed the connection";
      brokenStatus_ = WaitStatus::Closed;
    } else {
      broken_ = r.error.empty() ? "read error" : r.error;
      brokenStatus_ = WaitStatus::IoError;
    }
  }
}

RawCall callOnce(const EndpointOptions& endpoint, const std::function<std::string(std::int64_t)>& build, Deadline deadline,
                 const std::function<void(const Reply&)>& interim) {
  RawCall out;
  ConnectResult c = endpoint.connector ? endpoint.connector(endpoint.path, deadline)
                                       : connectEndpoint(endpoint.path, deadline, endpoint.connect);
  if (c.status != ConnectStatus::Ok || !c.transport) {
    out.status = c.status == ConnectStatus::Untrusted ? CallStatus::Failed : CallStatus::Unreachable;
    out.error = c.error.empty() ? "cannot connect to " + endpoint.path : c.error;
    return out;
  }
  PipeClient client(std::move(c.transport));
  const std::int64_t id = client.nextId();
  const IoResult w = client.send(build(id), deadline);
  if (w.status == IoStatus::Timeout) {
    out.status = CallStatus::Timeout;
    out.error = "request could not be sent in time";
    return out;
  }
  if (w.status != IoStatus::Ok) {
    out.status = CallStatus::Failed;
    out.error = w.error;
    return out;
  }
  auto r = client.wait(id, deadline, interim);
  switch (r.status) {
    case PipeClient::WaitStatus::Ok:
      out.status = CallStatus::Ok;
      out.reply = std::move(r.reply);
      break;
    case PipeClient::WaitStatus::Timeout:
      out.status = CallStatus::Timeout;
      out.error = r.error;
      break;
    default:
      out.status = CallStatus::Failed;
      out.error = r.error;
  }
  return out;
}

HealthCall callHealth(const EndpointOptions& endpoint, Deadline deadline) {
  HealthCall out;
  RawCall raw = callOnce(endpoint, buildHealthRequest, deadline);
  out.status = raw.status;
  out.error = raw.error;
  if (raw.status == CallStatus::Ok) out.reply = readHealthReply(raw.reply.body);
  return out;
}

AuthenticateCall callAuthenticate(const EndpointOptions& endpoint, const AuthenticateRequest& request, Deadline deadline,
                                  const std::function<void(const NumberShown&)>& onNumber) {
  AuthenticateCall out;
  std::function<void(const Reply&)> interim;
  if (onNumber) {
    interim = [&](const Reply& r) {
      if (auto n = readNumberReply(r.body)) onNumber(*n);
    };
  }
  RawCall raw = callOnce(endpoint, [&](std::int64_t id) { return buildAuthenticateRequest(id, request); }, deadline, interim);
  out.status = raw.status;
  out.error = raw.error;
  if (raw.status == CallStatus::Ok) out.reply = readAuthenticateReply(raw.reply.body);
  return out;
}

}  // namespace gatehouse
