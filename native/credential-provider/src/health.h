// The status line's background check: a thread that asks the endpoint for `health` on the
// StatusMonitor's schedule (10 s, backoff after failures) and calls back when the text changes.
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "gatehouse/status.h"
#include "cp_interfaces.h"

namespace gh {

class HealthWatcher {
 public:
  HealthWatcher(gatehouse::EndpointOptions endpoint, unsigned timeoutMs, std::function<void()> onChange);
  ~HealthWatcher();
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;

  bool start();
  /// Stops and joins the thread (the callback is never called after stop() returns).
  void stop();
  /// Runs a check now instead of at the scheduled time.
  void wake();
  std::string text() const;
  gatehouse::ServiceState state() const;
  /// Feeds an outcome seen elsewhere (an authenticate that could not connect); true when the text changed.
  bool record(const gatehouse::HealthOutcome& outcome);

 private:
  static DWORD WINAPI threadMain(LPVOID self);
  void run();

  gatehouse::EndpointOptions endpoint_;
  unsigned timeoutMs_;
  std::function<void()> onChange_;
  gatehouse::SteadyTimeSource clock_;
  mutable std::mutex mu_;
  gatehouse::StatusMonitor monitor_;
  HANDLE thread_ = nullptr;
  HANDLE stop_ = nullptr;
  HANDLE wake_ = nullptr;
};

}  // namespace gh
