#include "pipe_server.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <sddl.h>

#include <mutex>
#include <thread>
#include <vector>

#include "gatehouse/frame.h"
#include "win_text.h"

namespace gatehouse::service {

/// Requests answered at once on one connection.
constexpr int kMaxInFlight = 16;

struct PipeServer::Impl {
  ServiceConfig config;
  Forwarder& forwarder;
  PipeEvents events;
  std::wstring name;
  PSECURITY_DESCRIPTOR sd = nullptr;
  HANDLE next = INVALID_HANDLE_VALUE;
  /// The thread in run() (blocked in ConnectNamedPipe), so that stop() can cancel its wait.
  HANDLE acceptThread = nullptr;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  ConnectionLimiter limiter;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers;
  /// Pipes with a client, so that stop() can end their blocking reads.
  std::vector<HANDLE> active;

  /// Joins the threads of connections that are over (called before each new one).
  void reap() {
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
  }

  Impl(const ServiceConfig& c, Forwarder& f, PipeEvents e) : config(c), forwarder(f), events(std::move(e)), limiter(c.maxConnectionsPerProcess, c.maxConnections) {}

  HANDLE create(bool first) {
    SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
    return CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0), PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, 64 * 1024, 64 * 1024, 0, &sa);
  }

  void serve(HANDLE pipe, ULONG pid) {
    std::mutex writeMutex;
    std::vector<std::thread> inFlight;
    std::atomic<int> running{0};
    auto write = [&](const std::string& payload) {
      std::string frame;
      if (!encodeFrame(payload, frame)) return;
      std::lock_guard<std::mutex> lock(writeMutex);
      DWORD written = 0;
      WriteFile(pipe, frame.data(), static_cast<DWORD>(frame.size()), &written, nullptr);
    };
    {
      std::lock_guard<std::mutex> lock(mutex);
      active.push_back(pipe);
    }
    FrameDecoder decoder;
    std::string payload;
    char buf[16 * 1024];
    bool open = true;
    while (open && !stopping) {
      DWORD got = 0;
      if (!ReadFile(pipe, buf, sizeof buf, &got, nullptr) || got == 0) break;
      decoder.feed(buf, got);
      for (;;) {
        const auto st = decoder.next(payload);
        if (st == FrameDecoder::Status::NeedMore) break;
        if (st == FrameDecoder::Status::Error) {
          // A frame that is too long or empty: an error reply where possible, then close.
          write(errorReply(std::nullopt, decoder.error()));
          if (events.badRequest) events.badRequest(decoder.error());
          open = false;
          break;
        }
        ParsedRequest parsed = parseServiceRequest(payload);
        if (!parsed.request) {
          write(errorReply(parsed.id, parsed.error));
          if (events.badRequest) events.badRequest(parsed.error);
          open = false;
          break;
        }
        // Each request on its own thread: a push may take a minute, a health check must not wait
        // for it. At most kMaxInFlight at once per connection; more get an error reply.
        const ServiceRequest req = *parsed.request;
        if (running.load() >= kMaxInFlight) {
          write(errorReply(req.id, "too many requests in flight on this connection"));
          continue;
        }
        ++running;
        inFlight.emplace_back([this, req, &write, &running]() {
          std::string detail;
          const Outcome o = forwarder.handle(req, write, &detail);
          --running;
          if (events.answered) events.answered(req, o, detail);
        });
      }
    }
    for (auto& t : inFlight) t.join();
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = active.begin(); it != active.end(); ++it) {
      if (*it == pipe) {
        active.erase(it);
        break;
      }
    }
    FlushFileBuffers(pipe);
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
    limiter.release(pid);
  }
};

PipeServer::PipeServer(const ServiceConfig& config, Forwarder& forwarder, PipeEvents events) : impl_(new Impl(config, forwarder, std::move(events))) {}

PipeServer::~PipeServer() {
  stop();
  for (auto& w : impl_->workers) {
    if (w.thread.joinable()) w.thread.join();
  }
  if (impl_->sd != nullptr) LocalFree(impl_->sd);
  if (impl_->acceptThread != nullptr) CloseHandle(impl_->acceptThread);
}

bool PipeServer::start(std::string& error) {
  impl_->name = L"\\\\.\\pipe\\" + wide(impl_->config.pipeName);
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wide(pipeSddl(impl_->config.allowInteractiveUser)).c_str(), SDDL_REVISION_1, &impl_->sd, nullptr)) {
    error = windowsError("security descriptor", GetLastError());
    return false;
  }
  impl_->next = impl_->create(true);
  if (impl_->next == INVALID_HANDLE_VALUE) {
    error = windowsError(("cannot create the pipe " + impl_->config.pipeName + " (is another process serving it?)").c_str(), GetLastError());
    return false;
  }
  return true;
}

void PipeServer::run() {
  DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &impl_->acceptThread, THREAD_TERMINATE, FALSE, 0);
  while (!impl_->stopping) {
    HANDLE pipe = impl_->next;
    if (pipe == INVALID_HANDLE_VALUE) {
      pipe = impl_->create(false);
      if (pipe == INVALID_HANDLE_VALUE) {
        Sleep(200);
        continue;
      }
    }
    impl_->next = INVALID_HANDLE_VALUE;
    const BOOL connected = ConnectNamedPipe(pipe, nullptr) ? TRUE : (GetLastError() == ERROR_PIPE_CONNECTED);
    if (impl_->stopping || !connected) {
      CloseHandle(pipe);
      continue;
    }
    ULONG pid = 0;
    GetNamedPipeClientProcessId(pipe, &pid);
    bool admitted;
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      admitted = impl_->limiter.acquire(pid);
    }
    if (!admitted) {
      if (impl_->events.refused) impl_->events.refused(pid, "too many connections from this process, or in all");
      DisconnectNamedPipe(pipe);
      CloseHandle(pipe);
      continue;
    }
    impl_->reap();
    auto done = std::make_shared<std::atomic<bool>>(false);
    impl_->workers.push_back({std::thread([this, pipe, pid, done]() {
                                impl_->serve(pipe, pid);
                                done->store(true);
                              }),
                              done});
  }
}

void PipeServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  {
    // Blocking reads on connected pipes end when the pipe is disconnected.
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (HANDLE h : impl_->active) DisconnectNamedPipe(h);
  }
  // Wake the accept: cancel its wait (CancelSynchronousIo), and connect to ourselves once where
  // that is not enough (Wine).
  if (impl_->acceptThread != nullptr) CancelSynchronousIo(impl_->acceptThread);
  HANDLE h = CreateFileW(impl_->name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
}

}  // namespace gatehouse::service
