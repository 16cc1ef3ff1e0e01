#include "event_log.h"

#include <cstdio>
#include <mutex>

#include "win_text.h"

namespace gatehouse::service {

namespace {
std::mutex consoleMutex;

WORD typeOf(DWORD id) {
  switch (id >> 30) {
    case 3: return EVENTLOG_ERROR_TYPE;
    case 2: return EVENTLOG_WARNING_TYPE;
    default: return EVENTLOG_INFORMATION_TYPE;
  }
}
}  // namespace

EventLog::EventLog(bool console) : console_(console) { source_ = RegisterEventSourceW(nullptr, L"Gatehouse"); }

EventLog::~EventLog() {
  if (source_ != nullptr) DeregisterEventSource(source_);
}

void EventLog::report(DWORD id, const std::vector<std::string>& strings) {
  std::vector<std::wstring> wide_;
  std::vector<LPCWSTR> ptrs;
  wide_.reserve(strings.size());
  for (const auto& s : strings) wide_.push_back(wide(s));
  for (const auto& w : wide_) ptrs.push_back(w.c_str());
  if (source_ != nullptr) ReportEventW(source_, typeOf(id), 0, id, nullptr, static_cast<WORD>(ptrs.size()), 0, ptrs.empty() ? nullptr : ptrs.data(), nullptr);
  if (console_) {
    std::lock_guard<std::mutex> lock(consoleMutex);
    std::string line = "event " + std::to_string(id & 0xFFFF);
    for (const auto& s : strings) line += " | " + s;
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
}

}  // namespace gatehouse::service
