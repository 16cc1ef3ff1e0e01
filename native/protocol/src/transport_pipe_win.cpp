// Named-pipe transport (Windows): CreateFileW with FILE_FLAG_OVERLAPPED, so every read and write
// waits on an event with the time left and is cancelled (CancelIoEx) when the deadline passes.
//
// The client opens the pipe with SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION: the server can
// learn who we are but cannot impersonate us (LogonUI runs as SYSTEM). With
// ConnectOptions::requiredServerSid it also checks that the process serving the pipe runs as that
// account, so an unprivileged user who creates \\.\pipe\gatehouse before the service starts cannot
// answer "approved".
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <sddl.h>

#include <string>

#include "gatehouse/transport.h"
#include "gatehouse/utf.h"

namespace gatehouse {
namespace {

std::wstring widen(const std::string& s) {
  const std::u16string w = utf8ToUtf16(s);
  return std::wstring(w.begin(), w.end());
}

std::string win32Message(const char* what, DWORD code) {
  wchar_t* buf = nullptr;
  const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                                 code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) {
    std::u16string w(buf, buf + n);
    text = utf16ToUtf8(w);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.')) text.pop_back();
  }
  if (buf != nullptr) LocalFree(buf);
  return std::string(what) + ": " + (text.empty() ? "Windows error" : text) + " (" + std::to_string(code) + ")";
}

class NamedPipeTransport final : public Transport {
 public:
  explicit NamedPipeTransport(HANDLE h) : h_(h) { event_ = CreateEventW(nullptr, TRUE, FALSE, nullptr); }
  ~NamedPipeTransport() override {
    CancelIoEx(h_, nullptr);
    CloseHandle(h_);
    if (event_ != nullptr) CloseHandle(event_);
  }
  NamedPipeTransport(const NamedPipeTransport&) = delete;
  NamedPipeTransport& operator=(const NamedPipeTransport&) = delete;

  IoResult write(const char* data, std::size_t size, Deadline deadline) override {
    IoResult r;
    while (r.bytes < size) {
      IoResult step = io(false, const_cast<char*>(data) + r.bytes, size - r.bytes, deadline);
      if (step.status != IoStatus::Ok) {
        step.bytes = r.bytes;
        return step;
      }
      r.bytes += step.bytes;
    }
    return r;
  }

  IoResult read(char* buffer, std::size_t capacity, Deadline deadline) override {
    for (;;) {
      IoResult r = io(true, buffer, capacity, deadline);
      if (r.status != IoStatus::Ok || r.bytes > 0) return r;
      // A zero-byte read (a zero-length message in message mode): keep waiting for data.
    }
  }

 private:
  IoResult io(bool reading, char* buf, std::size_t size, Deadline deadline) {
    IoResult r;
    if (event_ == nullptr) {
      r.status = IoStatus::Error;
      r.error = "CreateEvent failed";
      return r;
    }
    const DWORD chunk = size > 65536 ? 65536 : static_cast<DWORD>(size);
    OVERLAPPED ov{};
    ov.hEvent = event_;
    ResetEvent(event_);
    const BOOL ok = reading ? ReadFile(h_, buf, chunk, nullptr, &ov) : WriteFile(h_, buf, chunk, nullptr, &ov);
    DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    if (!ok && err != ERROR_IO_PENDING && err != ERROR_MORE_DATA) return failure(reading, err);
    if (!ok && err == ERROR_IO_PENDING) {
      const DWORD w = WaitForSingleObject(event_, static_cast<DWORD>(millisLeft(deadline)));
      if (w != WAIT_OBJECT_0) {
        CancelIoEx(h_, &ov);
        DWORD ignored = 0;
        if (GetOverlappedResult(h_, &ov, &ignored, TRUE) && ignored > 0) {
          r.bytes = ignored;  // it finished just before the cancel took hold
          return r;
        }
        r.status = IoStatus::Timeout;
        r.error = reading ? "read timed out" : "write timed out";
        return r;
      }
    }
    DWORD n = 0;
    if (!GetOverlappedResult(h_, &ov, &n, FALSE)) {
      err = GetLastError();
      if (err != ERROR_MORE_DATA) return failure(reading, err);
    }
    r.bytes = n;
    return r;
  }

  static IoResult failure(bool reading, DWORD err) {
    IoResult r;
    const bool closed = err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED || err == ERROR_NO_DATA;
    r.status = closed ? IoStatus::Closed : IoStatus::Error;
    r.error = win32Message(reading ? "ReadFile" : "WriteFile", err);
    return r;
  }

  HANDLE h_;
  HANDLE event_ = nullptr;
};

/// The string SID of the account the pipe's server process runs as, or empty.
std::string serverProcessSid(HANDLE pipe, std::string& error) {
  ULONG pid = 0;
  if (!GetNamedPipeServerProcessId(pipe, &pid)) {
    error = win32Message("GetNamedPipeServerProcessId", GetLastError());
    return {};
  }
  HANDLE proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (proc == nullptr) {
    error = win32Message("OpenProcess(pipe server)", GetLastError());
    return {};
  }
  HANDLE token = nullptr;
  std::string sid;
  if (OpenProcessToken(proc, TOKEN_QUERY, &token)) {
    DWORD len = 0;
    GetTokenInformation(token, TokenUser, nullptr, 0, &len);
    std::string buf(len, '\0');
    if (len > 0 && GetTokenInformation(token, TokenUser, &buf[0], len, &len)) {
      const auto* user = reinterpret_cast<const TOKEN_USER*>(buf.data());
      wchar_t* text = nullptr;
      if (ConvertSidToStringSidW(user->User.Sid, &text)) {
        std::u16string w(text, text + lstrlenW(text));
        sid = utf16ToUtf8(w);
        LocalFree(text);
      }
    }
    if (sid.empty()) error = win32Message("reading the pipe server's account", GetLastError());
    CloseHandle(token);
  } else {
    error = win32Message("OpenProcessToken(pipe server)", GetLastError());
  }
  CloseHandle(proc);
  return sid;
}

bool sameSid(const std::string& a, const std::string& b) { return CompareStringOrdinal(widen(a).c_str(), -1, widen(b).c_str(), -1, TRUE) == CSTR_EQUAL; }

}  // namespace

ConnectResult connectNamedPipe(const std::string& path, Deadline deadline, const ConnectOptions& options) {
  ConnectResult out;
  const std::wstring wpath = widen(path);
  for (;;) {
    HANDLE h = CreateFileW(wpath.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
    if (h != INVALID_HANDLE_VALUE) {
      if (!options.requiredServerSid.empty() && options.requiredServerSid != "*") {
        std::string err;
        const std::string sid = serverProcessSid(h, err);
        if (sid.empty() || !sameSid(sid, options.requiredServerSid)) {
          CloseHandle(h);
          out.status = ConnectStatus::Untrusted;
          out.error = sid.empty() ? "cannot verify who serves " + path + ": " + err
                                  : path + " is served by account " + sid + ", not " + options.requiredServerSid;
          return out;
        }
      }
      out.status = ConnectStatus::Ok;
      out.transport = std::make_unique<NamedPipeTransport>(h);
      return out;
    }
    const DWORD err = GetLastError();
    if (err == ERROR_PIPE_BUSY) {
      // Every instance is taken: wait (at most until the deadline) for one to free up.
      const long long left = millisLeft(deadline);
      if (left <= 0) {
        out.status = ConnectStatus::Timeout;
        out.error = "cannot connect to " + path + ": all pipe instances are busy";
        return out;
      }
      WaitNamedPipeW(wpath.c_str(), static_cast<DWORD>(left > 1000 ? 1000 : left));
      continue;
    }
    out.status = (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) ? ConnectStatus::NotFound
                 : err == ERROR_ACCESS_DENIED                                  ? ConnectStatus::Refused
                                                                               : ConnectStatus::Error;
    out.error = win32Message(("cannot connect to " + path).c_str(), err);
    return out;
  }
}

ConnectResult connectEndpoint(const std::string& path, Deadline deadline, const ConnectOptions& options) {
  return connectNamedPipe(path, deadline, options);
}

std::string defaultEndpointPath() { return "\\\\.\\pipe\\gatehouse"; }

}  // namespace gatehouse

#endif  // _WIN32
