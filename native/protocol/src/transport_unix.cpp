// Unix-socket transport (everything but Windows): the endpoint's `--pipe-path` on Linux.
#ifndef _WIN32

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gatehouse/transport.h"

namespace gatehouse {
namespace {

std::string sysError(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

/// Waits until `fd` is ready for `events` or the deadline passes; 1 ready, 0 timeout, -1 error.
int waitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(millisLeft(deadline)));
    if (n > 0) return 1;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

class UnixSocketTransport final : public Transport {
 public:
  explicit UnixSocketTransport(int fd) : fd_(fd) {}
  ~UnixSocketTransport() override { ::close(fd_); }
  UnixSocketTransport(const UnixSocketTransport&) = delete;
  UnixSocketTransport& operator=(const UnixSocketTransport&) = delete;

  IoResult write(const char* data, std::size_t size, Deadline deadline) override {
    IoResult r;
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::send(fd_, data + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const int w = waitFor(fd_, POLLOUT, deadline);
        if (w == 1) continue;
        r.status = w == 0 ? IoStatus::Timeout : IoStatus::Error;
        r.error = w == 0 ? "write timed out" : sysError("poll");
        r.bytes = done;
        return r;
      }
      r.status = (errno == EPIPE || errno == ECONNRESET) ? IoStatus::Closed : IoStatus::Error;
      r.error = sysError("send");
      r.bytes = done;
      return r;
    }
    r.bytes = done;
    return r;
  }

  IoResult read(char* buffer, std::size_t capacity, Deadline deadline) override {
    IoResult r;
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, capacity, 0);
      if (n > 0) {
        r.bytes = static_cast<std::size_t>(n);
        return r;
      }
      if (n == 0) {
        r.status = IoStatus::Closed;
        r.error = "connection closed";
        return r;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        const int w = waitFor(fd_, POLLIN, deadline);
        if (w == 1) continue;
        r.status = w == 0 ? IoStatus::Timeout : IoStatus::Error;
        r.error = w == 0 ? "read timed out" : sysError("poll");
        return r;
      }
      r.status = errno == ECONNRESET ? IoStatus::Closed : IoStatus::Error;
      r.error = sysError("recv");
      return r;
    }
  }

 private:
  int fd_;
};

}  // namespace

ConnectResult connectUnixSocket(const std::string& path, Deadline deadline) {
  ConnectResult out;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    out.status = ConnectStatus::Error;
    out.error = path.empty() ? "no socket path given" : "socket path too long: " + path;
    return out;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    out.error = sysError("socket");
    return out;
  }
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
    // A Unix socket whose backlog is full: wait for it to accept.
    const int w = waitFor(fd, POLLOUT, deadline);
    int soErr = 0;
    socklen_t len = sizeof soErr;
    if (w == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr == 0) {
      rc = 0;
    } else {
      ::close(fd);
      out.status = w == 0 ? ConnectStatus::Timeout : ConnectStatus::Refused;
      out.error = "cannot connect to " + path + (w == 0 ? ": timed out" : ": " + std::string(std::strerror(soErr)));
      return out;
    }
  }
  if (rc < 0) {
    const int e = errno;
    ::close(fd);
    out.status = (e == ENOENT || e == ENOTDIR) ? ConnectStatus::NotFound
                 : e == ECONNREFUSED           ? ConnectStatus::Refused
                                               : ConnectStatus::Error;
    out.error = "cannot connect to " + path + ": " + std::strerror(e);
    return out;
  }
  out.status = ConnectStatus::Ok;
  out.transport = std::make_unique<UnixSocketTransport>(fd);
  return out;
}

ConnectResult connectEndpoint(const std::string& path, Deadline deadline, const ConnectOptions&) {
  return connectUnixSocket(path, deadline);
}

std::string defaultEndpointPath() { return {}; }

}  // namespace gatehouse

#endif  // !_WIN32
