// The service status line of the logon screen and its re-check schedule.
//
// Texts (as the seed products show them):
//   ok                          "Service Status: OK"
//   no answer on the pipe       "health-check request timed out. Is the background service running?"
//   api_unreachable             "service can not connect to API. Check network connectivity and API parameters."
//   api_timeout                 "API call timed out."
//   error / anything else       "error (<message>)"
//
// Schedule: a check runs at once, then every 10 s while the service is healthy. After n
// consecutive failed checks (anything but "ok") the next check waits
//   min(10 s * 2^(n-1), 300 s):   10 s, 20 s, 40 s, 80 s, 160 s, 300 s, 300 s, ...
// and one successful check resets it to every 10 s. An explicit checkNow() (the user pressed
// submit) runs regardless of the schedule.
// The clock is injected, so the schedule is tested without sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "gatehouse/client.h"

namespace gatehouse {

enum class ServiceState { Unknown, Ok, NoService, ApiUnreachable, ApiTimeout, Error };

struct HealthOutcome {
  ServiceState state = ServiceState::Unknown;
  std::string detail;  // the message for Error
};

extern const char* const kStatusOk;
extern const char* const kStatusNoService;
extern const char* const kStatusApiUnreachable;
extern const char* const kStatusApiTimeout;
extern const char* const kStatusChecking;

/// The status line for an outcome.
std::string statusText(const HealthOutcome& outcome);

/// Maps one health call (connect + request + reply) to an outcome: no connection, a timeout or a
/// closed connection mean the background service is not answering (NoService); a reply maps by
/// its status; a broken reply or an untrusted pipe server is an Error with the reason.
HealthOutcome healthOutcome(const HealthCall& call);

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual std::chrono::milliseconds now() const = 0;
};

class SteadyTimeSource final : public TimeSource {
 public:
  std::chrono::milliseconds now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch());
  }
};

struct BackoffPolicy {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds cap{300000};
};

/// Delay before the next check after `consecutiveFailures` failed checks (0 = healthy).
std::chrono::milliseconds retryDelay(unsigned consecutiveFailures, const BackoffPolicy& policy = {});

class StatusMonitor {
 public:
  using Check = std::function<HealthOutcome()>;

  StatusMonitor(const TimeSource& clock, Check check, BackoffPolicy policy = {});

  /// True when the schedule says the next check is due.
  bool due() const;
  /// Runs a check when one is due; true when it ran.
  bool poll();
  /// Runs a check now, whatever the schedule.
  void checkNow();
  /// Feeds an outcome obtained elsewhere (e.g. from an authenticate call) into the schedule.
  void record(const HealthOutcome& outcome);

  std::string text() const { return statusText(last_); }
  const HealthOutcome& last() const { return last_; }
  unsigned failures() const { return failures_; }
  /// Time until the next check is due (0 when due).
  std::chrono::milliseconds nextCheckIn() const;
  std::chrono::milliseconds nextCheckAt() const { return nextAt_; }

 private:
  const TimeSource& clock_;
  Check check_;
  BackoffPolicy policy_;
  HealthOutcome last_;
  unsigned failures_ = 0;
  std::chrono::milliseconds nextAt_;
};

}  // namespace gatehouse
