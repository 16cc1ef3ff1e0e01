// The Windows Event Log (source "Gatehouse" in the Application log): one call per event of
// messages.mc, with its insertion strings. Also a line on standard error in console mode, so the
// tests (Wine) and a person running --console see the same events.
#pragma once

#include <string>
#include <vector>

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

namespace gatehouse::service {

class EventLog {
 public:
  explicit EventLog(bool console);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  /// `id`: a GH_EVENT_* constant of messages.h (severity bits included).
  void report(DWORD id, const std::vector<std::string>& strings);

 private:
  HANDLE source_ = nullptr;
  bool console_ = false;
};

}  // namespace gatehouse::service
