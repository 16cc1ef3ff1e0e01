// The logon pipe, served: \\.\pipe\NAME with the service's own security descriptor (SYSTEM only,
// and the interactive user only where configured), PIPE_REJECT_REMOTE_CLIENTS, the first
// instance created exclusively (FILE_FLAG_FIRST_PIPE_INSTANCE: a process that made the name
// first makes the service fail to start instead of sharing it), a bounded number of connections
// per client process and in all. Each connection has its own thread; several requests may be in
// flight on one connection (each answered on its own thread, writes serialized).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "service_config.h"
#include "service_core.h"

namespace gatehouse::service {

struct PipeEvents {
  /// A request answered (for the Event Log).
  std::function<void(const ServiceRequest&, Outcome, const std::string& detail)> answered;
  /// A client refused (limit) or a request unreadable.
  std::function<void(unsigned long pid, const std::string& why)> refused;
  std::function<void(const std::string& why)> badRequest;
};

class PipeServer {
 public:
  PipeServer(const ServiceConfig& config, Forwarder& forwarder, PipeEvents events);
  ~PipeServer();
  /// Creates the first instance; false with `error` when the pipe cannot be made (name taken).
  bool start(std::string& error);
  /// Serves until stop() (blocks the calling thread).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::service
