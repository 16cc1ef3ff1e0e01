// Byte-stream transports to the Gatehouse endpoint: a Unix socket (Linux and the tests) and a
// named pipe (Windows, default \\.\pipe\gatehouse). Every call takes a deadline and never blocks
// past it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace gatehouse {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

inline Deadline deadlineIn(std::chrono::milliseconds ms) { return SteadyClock::now() + ms; }
/// Milliseconds left until `d` (0 when past), clamped to what an int holds.
long long millisLeft(Deadline d);

enum class IoStatus { Ok, Timeout, Closed, Error };

struct IoResult {
  IoStatus status = IoStatus::Ok;
  std::size_t bytes = 0;
  std::string error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Writes all `size` bytes, or fails.
  virtual IoResult write(const char* data, std::size_t size, Deadline deadline) = 0;
  /// Reads at least one byte (Ok), or reports Closed at end of stream, Timeout or Error.
  virtual IoResult read(char* buffer, std::size_t capacity, Deadline deadline) = 0;
};

enum class ConnectStatus {
  Ok,
  NotFound,   // no such socket or pipe: the service is not running
  Refused,    // exists, nobody accepts
  Timeout,    // all pipe instances stayed busy, or connect did not finish in time
  Untrusted,  // (Windows) the pipe is served by a process that is not the expected account
  Error
};

struct ConnectResult {
  ConnectStatus status = ConnectStatus::Error;
  std::unique_ptr<Transport> transport;
  std::string error;
};

struct ConnectOptions {
  /// Windows only: the SID (e.g. "S-1-5-18", LocalSystem) the pipe server process must run as,
  /// so that a process of an ordinary user cannot create the pipe first and answer "approved".
  /// Empty: no check.
  std::string requiredServerSid;
};

#ifdef _WIN32
ConnectResult connectNamedPipe(const std::string& path, Deadline deadline, const ConnectOptions& options = {});
#else
ConnectResult connectUnixSocket(const std::string& path, Deadline deadline);
#endif

/// The platform's transport: a named pipe on Windows, a Unix socket elsewhere.
ConnectResult connectEndpoint(const std::string& path, Deadline deadline, const ConnectOptions& options = {});

/// "\\.\pipe\gatehouse" on Windows; empty elsewhere (a socket path must be given).
std::string defaultEndpointPath();

/// How a client opens its connection; replaceable in tests.
using Connector = std::function<ConnectResult(const std::string& path, Deadline deadline)>;

}  // namespace gatehouse
