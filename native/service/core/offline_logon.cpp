#include "offline_logon.h"

#include <algorithm>
#include <cctype>

#include "binary_io.h"

namespace gatehouse::service {

using binary::putBytes;
using binary::putI64;
using binary::putU32;
using binary::Reader;

const char* const kOfflineCodeRequiredMessage = "Gatehouse cannot be reached. Enter the code from your authenticator app to sign in offline.";
const char* const kOfflineApprovedMessage = "Signed in offline with your authenticator code.";
const char* const kOfflineWrongMessage = "Wrong code. After 5 wrong codes offline sign-in is locked until you sign in on the network.";
const char* const kOfflineLockedMessage = "Offline sign-in is locked after 5 wrong codes. Connect to the network to sign in.";

namespace {

constexpr char kMagic[] = "GHOFL1";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool decodeBase64(const std::string& in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[k] = base64Value(c)) < 0) return false;
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) | (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return true;
}

std::string OfflineLogons::keyOf(const AuthenticateRequest& req) { return lower(req.domain) + "\\" + lower(req.username); }

std::int64_t OfflineLogons::heldThrough(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return store_.lastStep(key).value_or(0);
}

bool OfflineLogons::take(const std::string& key, const JsonValue& m, std::string* why) {
  const auto salt64 = m.getString("salt");
  const auto iterations = m.getInteger("iterations");
  const auto first = m.getInteger("first_step");
  const auto hashes64 = m.getString("hashes");
  OfflineEntry e;
  std::string hashes;
  auto fail = [&](const char* what) {
    if (why) *why = what;
    return false;
  };
  if (!salt64 || !decodeBase64(*salt64, e.salt) || e.salt.size() < 16 || e.salt.size() > 64) return fail("offline codes: bad salt");
  if (!iterations || *iterations < 1000 || *iterations > 10'000'000) return fail("offline codes: iterations outside 1000..10000000");
  if (!first || *first <= 0) return fail("offline codes: bad first_step");
  if (!hashes64 || !decodeBase64(*hashes64, hashes) || hashes.empty() || hashes.size() % 32 != 0 || hashes.size() / 32 > 31 * 24 * 120) return fail("offline codes: bad hashes");
  e.iterations = static_cast<std::uint32_t>(*iterations);
  e.firstStep = *first;
  for (std::size_t i = 0; i < hashes.size(); i += 32) e.hashes.push_back(hashes.substr(i, 32));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    store_.put(key, std::move(e));
  }
  changed();
  return true;
}

void OfflineLogons::forget(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!store_.has(key)) return;
    store_.remove(key);
  }
  changed();
}

void OfflineLogons::onlineApproved(const std::string& key, std::int64_t nowMs, bool codeTyped) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!store_.has(key)) return;
    store_.onlineApproved(key, nowMs / 1000, codeTyped);
  }
  changed();
}

bool OfflineLogons::covers(const std::string& key, std::int64_t nowSeconds) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return store_.covers(key, nowSeconds);
}

OfflineVerdict OfflineLogons::verify(const AuthenticateRequest& req, const std::string& code, std::int64_t nowMs) {
  OfflineVerdict v;
  {
    // One unit per check: two connections typing codes for the same user take turns, so a code
    // is accepted once and every failure counts.
    std::lock_guard<std::mutex> lock(mutex_);
    store_.prune(nowMs / 1000);
    v = store_.verify(keyOf(req), code, nowMs / 1000);
    if (v == OfflineVerdict::NotAvailable) return v;
    if (reports_.size() >= kMaxOfflineReports) reports_.erase(reports_.begin());
    reports_.push_back(OfflineReport{req.username, req.domain, scenarioName(req.scenario), nowMs, v == OfflineVerdict::Approved ? "approved" : v == OfflineVerdict::Locked ? "locked" : "denied", nextSeq_++});
  }
  changed();
  return v;
}

std::string OfflineLogons::reportBody(std::uint64_t* through) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t n = std::min(reports_.size(), kOfflineReportBatch);
  if (through) *through = n == 0 ? 0 : reports_[n - 1].seq;
  if (n == 0) return std::string();
  std::vector<JsonValue> items;
  for (std::size_t i = 0; i < n; ++i) {
    const OfflineReport& r = reports_[i];
    items.push_back(JsonValue::object({{"username", JsonValue::string(r.username)},
                                       {"domain", JsonValue::string(r.domain)},
                                       {"scenario", JsonValue::string(r.scenario)},
                                       {"at", JsonValue::integer(r.atMs)},
                                       {"result", JsonValue::string(r.result)}}));
  }
  return toJson(JsonValue::object({{"logons", JsonValue::array(std::move(items))}}));
}

void OfflineLogons::reported(std::uint64_t through) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // By sequence, not position: reports queued (or the oldest dropped) meanwhile stay as they are.
    reports_.erase(std::remove_if(reports_.begin(), reports_.end(), [through](const OfflineReport& r) { return r.seq <= through; }), reports_.end());
  }
  changed();
}

std::size_t OfflineLogons::pendingReports() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reports_.size();
}

std::string OfflineLogons::serializeLocked() const {
  std::string out(kMagic);
  putBytes(out, store_.serialize());
  putU32(out, static_cast<std::uint32_t>(reports_.size()));
  for (const auto& r : reports_) {
    putBytes(out, r.username);
    putBytes(out, r.domain);
    putBytes(out, r.scenario);
    putI64(out, r.atMs);
    putBytes(out, r.result);
  }
  return out;
}

std::string OfflineLogons::serialize() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return serializeLocked();
}

bool OfflineLogons::load(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  reports_.clear();
  store_.deserialize(std::string());
  const std::string magic(kMagic);
  if (bytes.compare(0, magic.size(), magic) != 0) return false;
  Reader r{bytes, magic.size()};
  const std::string store = r.bytes(bytes.size());
  const auto n = static_cast<std::size_t>(r.u32());
  if (!r.ok || n > kMaxOfflineReports) return false;
  std::vector<OfflineReport> reports;
  for (std::size_t i = 0; i < n && r.ok; ++i) {
    OfflineReport rep;
    rep.username = r.bytes(1024);
    rep.domain = r.bytes(1024);
    rep.scenario = r.bytes(16);
    rep.atMs = r.i64();
    rep.result = r.bytes(16);
    rep.seq = nextSeq_++;
    reports.push_back(std::move(rep));
  }
  if (!r.ok || r.at != bytes.size() || !store_.deserialize(store)) {
    store_.deserialize(std::string());
    return false;
  }
  reports_ = std::move(reports);
  return true;
}

void OfflineLogons::changed() {
  if (!save_) return;
  // Saves one at a time, each with the state as it is then: the file never goes back to an
  // older state because two connections changed it at once.
  std::lock_guard<std::mutex> saving(saveMutex_);
  std::string state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state = serializeLocked();
  }
  save_(state);
}

}  // namespace gatehouse::service
