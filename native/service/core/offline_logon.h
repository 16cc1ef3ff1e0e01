// Offline logon as the service runs it (the store's rules are in offline_store.h): which user a
// request is, what the appliance's offline material becomes, what a request gets while the
// appliance cannot be reached, and the sign-ins decided offline that the appliance's audit must
// still learn of. Thread-safe: the pipe serves several connections at once.
//
// Persistence is the caller's: `save` gets the whole state (store and reports) after every change,
// and the Windows layer seals it with DPAPI (machine scope) into a file only SYSTEM can read.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "gatehouse/json.h"
#include "gatehouse/messages.h"
#include "offline_store.h"

namespace gatehouse::service {

/// One sign-in decided offline, waiting to be reported (POST offline-logons).
struct OfflineReport {
  std::string username;
  std::string domain;
  std::string scenario;
  std::int64_t atMs = 0;
  std::string result;  // approved | denied | locked
  /// Order of arrival in this process (not kept in the file): what a report sent covers.
  std::uint64_t seq = 0;
};

/// Reports kept while offline; beyond this the oldest are dropped (and the drop is counted).
constexpr std::size_t kMaxOfflineReports = 1000;
/// Reports sent per call.
constexpr std::size_t kOfflineReportBatch = 100;

extern const char* const kOfflineCodeRequiredMessage;
extern const char* const kOfflineApprovedMessage;
extern const char* const kOfflineWrongMessage;
extern const char* const kOfflineLockedMessage;

class OfflineLogons {
 public:
  OfflineLogons(Pbkdf2 hash, std::function<void(const std::string& state)> save) : store_(std::move(hash)), save_(std::move(save)) {}

  /// The store's key for a request: "domain\user", lowercased (ASCII), as the request names them.
  static std::string keyOf(const AuthenticateRequest& req);

  /// The last step held for the user (0: none); the appliance sends fresh codes when less than
  /// half its window is left.
  std::int64_t heldThrough(const std::string& key) const;
  /// Takes the appliance's `{"offline": {...}}` object; false with `why` when it is malformed.
  bool take(const std::string& key, const JsonValue& material, std::string* why);
  /// Drops the user's codes (the appliance refused them online).
  void forget(const std::string& key);
  /// The appliance approved the user online: the offline lockout ends, and a code typed spends
  /// the steps up to now+1 here too (the same code does not work offline afterwards).
  void onlineApproved(const std::string& key, std::int64_t nowMs, bool codeTyped);
  /// Whether the user has codes for this moment (offline logon can be offered).
  bool covers(const std::string& key, std::int64_t nowSeconds) const;
  /// Checks a code offline and queues the report.
  OfflineVerdict verify(const AuthenticateRequest& req, const std::string& code, std::int64_t nowMs);

  /// The JSON body of the next report (at most kOfflineReportBatch), empty when nothing waits;
  /// `through` is the last report it carries (pass it to `reported` once the appliance took them,
  /// or could never take them).
  std::string reportBody(std::uint64_t* through) const;
  void reported(std::uint64_t through);
  std::size_t pendingReports() const;

  /// The whole state, versioned; `load` is false (and the state empty) for bytes it did not write.
  std::string serialize() const;
  bool load(const std::string& bytes);

 private:
  std::string serializeLocked() const;
  void changed();
  mutable std::mutex mutex_;
  std::mutex saveMutex_;
  OfflineStore store_;
  std::vector<OfflineReport> reports_;
  std::uint64_t nextSeq_ = 1;
  std::function<void(const std::string&)> save_;
};

/// Standard base64 (RFC 4648 section 4, padding required); false when `in` is not that.
bool decodeBase64(const std::string& in, std::string& out);

}  // namespace gatehouse::service
