// Offline logon (issue 17, off unless the appliance's policy and the machine's settings allow
// it): for a user who signed in online with a TOTP code, the appliance sends the hashes of that
// user's next codes, one per 30-second step over a window (for example 7 days). The service keeps
// them (sealed with DPAPI, machine scope, by the Windows layer: this core only serializes) and,
// while the appliance cannot be reached, checks a typed code against the hash of its step.
//
//   - Never the seed, never a code: only salted, slow hashes (PBKDF2-HMAC-SHA256 of
//     "STEP:CODE" with a per-user salt), so the file gives an attacker no code without trying
//     them: about 10^6 guesses times the hash's cost for each step. A local administrator who
//     has the file can do that offline; that is the threat model (native/README.md).
//   - Each code works once: a code accepted at step S also burns every step before S.
//   - 5 wrong codes in a row lock offline logon for that user until the next online sign-in.
//   - An online sign-in replaces the user's entry (new salt, new window).
// The hash function is injected (BCrypt on Windows; the appliance computes the same with Node's
// crypto.pbkdf2), so the rules here are unit-tested on Linux.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::service {

/// PBKDF2-HMAC-SHA256(password, salt, iterations) -> 32 bytes.
using Pbkdf2 = std::function<std::string(const std::string& password, const std::string& salt, std::uint32_t iterations)>;

constexpr int kOfflineMaxFailures = 5;
constexpr std::int64_t kOfflineStepSeconds = 30;

struct OfflineEntry {
  std::string salt;
  std::uint32_t iterations = 0;
  /// The first step (unix seconds / 30) the hashes cover.
  std::int64_t firstStep = 0;
  /// 32 bytes per step from firstStep on.
  std::vector<std::string> hashes;
  /// Steps up to and including this one are used (a code was accepted at it, or before it).
  std::int64_t usedThrough = -1;
  int failures = 0;
};

enum class OfflineVerdict { Approved, Denied, Locked, NotAvailable };

class OfflineStore {
 public:
  explicit OfflineStore(Pbkdf2 hash) : hash_(std::move(hash)) {}
  /// An online sign-in's fresh material replaces the user's entry (and its lockout).
  void put(const std::string& user, OfflineEntry entry);
  void remove(const std::string& user);
  bool has(const std::string& user) const;
  /// The last step the user's entry covers (for "offline until"), or nothing.
  std::optional<std::int64_t> lastStep(const std::string& user) const;
  /// Whether the entry's steps reach the moment `nowSeconds` (one step of drift either side).
  bool covers(const std::string& user, std::int64_t nowSeconds) const;
  /// An online sign-in of the user was approved: the offline lockout ends, and with `codeTyped`
  /// the steps up to now+1 (what the appliance may just have accepted) count as used here too.
  void onlineApproved(const std::string& user, std::int64_t nowSeconds, bool codeTyped);
  /// Checks `code` at unix time `now` (steps now-1, now, now+1: clocks drift).
  OfflineVerdict verify(const std::string& user, const std::string& code, std::int64_t nowSeconds);
  /// Entries whose window is over are dropped.
  void prune(std::int64_t nowSeconds);

  /// A versioned binary form (the Windows layer seals it with DPAPI before it touches the disk).
  std::string serialize() const;
  /// False (store left empty) when the bytes are not a store this version wrote.
  bool deserialize(const std::string& bytes);

  /// The string hashed for one step: "STEP:CODE" (the appliance builds the same).
  static std::string material(std::int64_t step, const std::string& code);

 private:
  Pbkdf2 hash_;
  std::map<std::string, OfflineEntry> entries_;
};

}  // namespace gatehouse::service
