#include "offline_store.h"

#include <algorithm>

#include "binary_io.h"

namespace gatehouse::service {

using binary::putBytes;
using binary::putI64;
using binary::putU32;
using binary::Reader;

namespace {

constexpr char kMagic[] = "GHOFF1";

bool constantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

/// At most this many steps per user (a window of 31 days), and users per store.
constexpr std::size_t kMaxSteps = 31 * 24 * 120;
constexpr std::size_t kMaxUsers = 10000;
/// A key is "domain\\user" as a request names them: at most 256 + 1 + 256 UTF-16 units, 3 bytes each in UTF-8.
constexpr std::size_t kMaxKeyBytes = 2048;

}  // namespace

std::string OfflineStore::material(std::int64_t step, const std::string& code) { return std::to_string(step) + ":" + code; }

void OfflineStore::put(const std::string& user, OfflineEntry entry) {
  entry.failures = 0;
  entry.usedThrough = -1;
  entries_[user] = std::move(entry);
}

void OfflineStore::remove(const std::string& user) { entries_.erase(user); }

bool OfflineStore::has(const std::string& user) const { return entries_.count(user) > 0; }

std::optional<std::int64_t> OfflineStore::lastStep(const std::string& user) const {
  auto it = entries_.find(user);
  if (it == entries_.end() || it->second.hashes.empty()) return std::nullopt;
  return it->second.firstStep + static_cast<std::int64_t>(it->second.hashes.size()) - 1;
}

bool OfflineStore::covers(const std::string& user, std::int64_t nowSeconds) const {
  auto it = entries_.find(user);
  if (it == entries_.end() || it->second.hashes.empty()) return false;
  const std::int64_t now = nowSeconds / kOfflineStepSeconds;
  const std::int64_t last = it->second.firstStep + static_cast<std::int64_t>(it->second.hashes.size()) - 1;
  return now + 1 >= it->second.firstStep && now - 1 <= last && it->second.usedThrough < last;
}

void OfflineStore::onlineApproved(const std::string& user, std::int64_t nowSeconds, bool codeTyped) {
  auto it = entries_.find(user);
  if (it == entries_.end()) return;
  it->second.failures = 0;
  if (codeTyped) it->second.usedThrough = std::max(it->second.usedThrough, nowSeconds / kOfflineStepSeconds + 1);
}

OfflineVerdict OfflineStore::verify(const std::string& user, const std::string& code, std::int64_t nowSeconds) {
  auto it = entries_.find(user);
  if (it == entries_.end()) return OfflineVerdict::NotAvailable;
  OfflineEntry& e = it->second;
  if (e.failures >= kOfflineMaxFailures) return OfflineVerdict::Locked;
  const std::int64_t now = nowSeconds / kOfflineStepSeconds;
  const std::int64_t last = e.firstStep + static_cast<std::int64_t>(e.hashes.size()) - 1;
  if (now + 1 < e.firstStep || now - 1 > last) return OfflineVerdict::NotAvailable;
  bool wellFormed = code.size() >= 6 && code.size() <= 8;
  for (char c : code) wellFormed = wellFormed && c >= '0' && c <= '9';
  if (wellFormed) {
    for (std::int64_t step = now - 1; step <= now + 1; ++step) {
      if (step < e.firstStep || step > last || step <= e.usedThrough) continue;
      const std::string& expected = e.hashes[static_cast<std::size_t>(step - e.firstStep)];
      if (constantTimeEqual(hash_(material(step, code), e.salt, e.iterations), expected)) {
        e.usedThrough = step;
        e.failures = 0;
        return OfflineVerdict::Approved;
      }
    }
  }
  ++e.failures;
  return e.failures >= kOfflineMaxFailures ? OfflineVerdict::Locked : OfflineVerdict::Denied;
}

void OfflineStore::prune(std::int64_t nowSeconds) {
  const std::int64_t now = nowSeconds / kOfflineStepSeconds;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const std::int64_t last = it->second.firstStep + static_cast<std::int64_t>(it->second.hashes.size()) - 1;
    if (last < now - 1) it = entries_.erase(it);
    else ++it;
  }
}

std::string OfflineStore::serialize() const {
  std::string out(kMagic);
  putU32(out, static_cast<std::uint32_t>(entries_.size()));
  for (const auto& [user, e] : entries_) {
    putBytes(out, user);
    putBytes(out, e.salt);
    putU32(out, e.iterations);
    putI64(out, e.firstStep);
    putI64(out, e.usedThrough);
    putU32(out, static_cast<std::uint32_t>(e.failures));
    putU32(out, static_cast<std::uint32_t>(e.hashes.size()));
    for (const auto& h : e.hashes) out += h;
  }
  return out;
}

bool OfflineStore::deserialize(const std::string& bytes) {
  entries_.clear();
  const std::string magic(kMagic);
  if (bytes.compare(0, magic.size(), magic) != 0) return false;
  Reader r{bytes, magic.size()};
  const std::uint32_t users = r.u32();
  if (!r.ok || users > kMaxUsers) return false;
  std::map<std::string, OfflineEntry> read;
  for (std::uint32_t u = 0; u < users; ++u) {
    OfflineEntry e;
    const std::string user = r.bytes(kMaxKeyBytes);
    e.salt = r.bytes(64);
    e.iterations = r.u32();
    e.firstStep = r.i64();
    e.usedThrough = r.i64();
    e.failures = static_cast<int>(r.u32());
    const std::uint32_t n = r.u32();
    if (!r.ok || n > kMaxSteps || r.at + static_cast<std::size_t>(n) * 32 > bytes.size()) return false;
    for (std::uint32_t i = 0; i < n; ++i) e.hashes.push_back(bytes.substr(r.at + static_cast<std::size_t>(i) * 32, 32));
    r.at += static_cast<std::size_t>(n) * 32;
    read[user] = std::move(e);
  }
  if (!r.ok || r.at != bytes.size()) return false;
  entries_ = std::move(read);
  return true;
}

}  // namespace gatehouse::service
