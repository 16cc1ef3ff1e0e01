#include "health.h"

#include "win_util.h"

namespace gh {

HealthWatcher::HealthWatcher(gatehouse::EndpointOptions endpoint, unsigned timeoutMs, std::function<void()> onChange)
    : endpoint_(std::move(endpoint)),
      timeoutMs_(timeoutMs),
      onChange_(std::move(onChange)),
      monitor_(clock_, [] { return gatehouse::HealthOutcome{}; }) {
  stop_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  wake_ = CreateEventW(nullptr, FALSE, FALSE, nullptr);
}

HealthWatcher::~HealthWatcher() {
  stop();
  if (stop_) CloseHandle(stop_);
  if (wake_) CloseHandle(wake_);
}

bool HealthWatcher::start() {
  if (thread_ != nullptr || stop_ == nullptr || wake_ == nullptr) return thread_ != nullptr;
  thread_ = CreateThread(nullptr, 0, &HealthWatcher::threadMain, this, 0, nullptr);
  return thread_ != nullptr;
}

void HealthWatcher::stop() {
  if (thread_ == nullptr) return;
  SetEvent(stop_);
  WaitForSingleObject(thread_, INFINITE);
  CloseHandle(thread_);
  thread_ = nullptr;
}

void HealthWatcher::wake() {
  if (wake_) SetEvent(wake_);
}

std::string HealthWatcher::text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return monitor_.text();
}

gatehouse::ServiceState HealthWatcher::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return monitor_.last().state;
}

bool HealthWatcher::record(const gatehouse::HealthOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string before = monitor_.text();
  monitor_.record(outcome);
  return monitor_.text() != before;
}

DWORD WINAPI HealthWatcher::threadMain(LPVOID self) {
  static_cast<HealthWatcher*>(self)->run();
  return 0;
}

void HealthWatcher::run() {
  bool forced = false;
  for (;;) {
    bool due;
    {
      std::lock_guard<std::mutex> lock(mu_);
      due = forced || monitor_.due();
    }
    forced = false;
    if (due) {
      const auto call = gatehouse::callHealth(endpoint_, gatehouse::deadlineIn(std::chrono::milliseconds(timeoutMs_)));
      const auto outcome = gatehouse::healthOutcome(call);
      if (record(outcome)) {
        logLine("service status: " + gatehouse::statusText(outcome) + (call.error.empty() ? "" : " [" + call.error + "]"));
        if (WaitForSingleObject(stop_, 0) == WAIT_OBJECT_0) return;
        if (onChange_) onChange_();
      }
    }
    DWORD waitMs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waitMs = static_cast<DWORD>(monitor_.nextCheckIn().count());
    }
    HANDLE handles[2] = {stop_, wake_};
    const DWORD w = WaitForMultipleObjects(2, handles, FALSE, waitMs);
    if (w == WAIT_OBJECT_0 || w == WAIT_FAILED) return;
    if (w == WAIT_OBJECT_0 + 1) forced = true;
  }
}

}  // namespace gh
