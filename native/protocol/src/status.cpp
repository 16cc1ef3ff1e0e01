#include "gatehouse/status.h"

namespace gatehouse {

const char* const kStatusOk = "Service Status: OK";
const char* const kStatusNoService = "health-check request timed out. Is the background service running?";
const char* const kStatusApiUnreachable = "service can not connect to API. Check network connectivity and API parameters.";
const char* const kStatusApiTimeout = "API call timed out.";
const char* const kStatusChecking = "Service Status: checking...";

std::string statusText(const HealthOutcome& outcome) {
  switch (outcome.state) {
    case ServiceState::Unknown: return kStatusChecking;
    case ServiceState::Ok: return kStatusOk;
    case ServiceState::NoService: return kStatusNoService;
    case ServiceState::ApiUnreachable: return kStatusApiUnreachable;
    case ServiceState::ApiTimeout: return kStatusApiTimeout;
    case ServiceState::Error: return "error (" + (outcome.detail.empty() ? std::string("unknown error") : outcome.detail) + ")";
  }
  return kStatusChecking;
}

HealthOutcome healthOutcome(const HealthCall& call) {
  HealthOutcome o;
  switch (call.status) {
    case CallStatus::Unreachable:
    case CallStatus::Timeout:
      o.state = ServiceState::NoService;
      o.detail = call.error;
      return o;
    case CallStatus::Failed:
      // A connection closed without a word looks like a service that is going away; a broken
      // reply or an untrusted server is an error worth showing as it is.
      if (call.error.find("closed the connection") != std::string::npos) {
        o.state = ServiceState::NoService;
      } else {
        o.state = ServiceState::Error;
      }
      o.detail = call.error;
      return o;
    case CallStatus::Ok:
      break;
  }
  switch (call.reply.status) {
    case HealthStatus::Ok: o.state = ServiceState::Ok; break;
    case HealthStatus::ApiUnreachable: o.state = ServiceState::ApiUnreachable; break;
    case HealthStatus::ApiTimeout: o.state = ServiceState::ApiTimeout; break;
    case HealthStatus::Error: o.state = ServiceState::Error; break;
  }
  o.detail = call.reply.message;
  return o;
}

std::chrono::milliseconds retryDelay(unsigned consecutiveFailures, const BackoffPolicy& policy) {
  if (consecutiveFailures <= 1) return policy.interval < policy.cap ? policy.interval : policy.cap;
  std::chrono::milliseconds d = policy.interval;
  for (unsigned k = 1; k < consecutiveFailures; ++k) {
    d *= 2;
    if (d >= policy.cap) return policy.cap;
  }
  return d;
}

StatusMonitor::StatusMonitor(const TimeSource& clock, Check check, BackoffPolicy policy)
    : clock_(clock), check_(std::move(check)), policy_(policy), nextAt_(clock.now()) {}

bool StatusMonitor::due() const { return clock_.now() >= nextAt_; }

bool StatusMonitor::poll() {
  if (!due()) return false;
  checkNow();
  return true;
}

void StatusMonitor::checkNow() { record(check_()); }

void StatusMonitor::record(const HealthOutcome& outcome) {
  last_ = outcome;
  failures_ = outcome.state == ServiceState::Ok ? 0 : failures_ + 1;
  nextAt_ = clock_.now() + retryDelay(failures_, policy_);
}

std::chrono::milliseconds StatusMonitor::nextCheckIn() const {
  const auto now = clock_.now();
  return nextAt_ > now ? nextAt_ - now : std::chrono::milliseconds(0);
}

}  // namespace gatehouse
