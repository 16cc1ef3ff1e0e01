// The service's portable core: requests read as the Node endpoint reads them, and answers the
// same as `gatehouse agent` gives for every way the path to the appliance can go.
#include <string>
#include <vector>

#include "gatehouse/json.h"
#include "service_core.h"
#include "test.h"

using namespace gatehouse;
using namespace gatehouse::service;

namespace {

struct FakeTransport : AgentTransport {
  AgentAnswer next;
  /// Answers for the next calls, first to last (then `next`).
  std::vector<AgentAnswer> queue;
  std::vector<std::string> paths;
  std::vector<std::string> bodies;
  std::vector<std::string> chunks;  // streamed to onChunk before the answer returns
  std::string lastPath;
  std::string lastBody;
  int lastTimeout = 0;
  AgentAnswer get(const std::string& path, int timeoutMs) override {
    lastPath = path;
    lastTimeout = timeoutMs;
    paths.push_back(path);
    if (!queue.empty()) {
      AgentAnswer a = queue.front();
      queue.erase(queue.begin());
      return a;
    }
    return next;
  }
  AgentAnswer post(const std::string& path, const std::string& body, int timeoutMs, const std::function<void(std::string_view)>& onChunk) override {
    lastPath = path;
    lastBody = body;
    lastTimeout = timeoutMs;
    paths.push_back(path);
    bodies.push_back(body);
    if (onChunk)
      for (const auto& c : chunks) onChunk(c);
    if (!queue.empty()) {
      AgentAnswer a = queue.front();
      queue.erase(queue.begin());
      return a;
    }
    return next;
  }
};

AgentAnswer okJson(const std::string& body) { return AgentAnswer{AgentAnswer::Kind::Ok, 200, "application/json", body, ""}; }

ServiceRequest parsed(const std::string& payload);
std::vector<std::string> run(FakeTransport& t, const std::string& payload, Outcome* outcome = nullptr);

/** The first reply sent (by value: CHECK_EQ keeps a reference to its argument). */
std::string first(FakeTransport& t, const std::string& payload, Outcome* outcome = nullptr) {
  auto sent = run(t, payload, outcome);
  return sent.empty() ? std::string("<nothing sent>") : sent[0];
}

ServiceRequest parsed(const std::string& payload) {
  auto p = parseServiceRequest(payload);
  if (!p.request) throw std::runtime_error("not a request: " + p.error);
  return *p.request;
}

std::vector<std::string> run(FakeTransport& t, const std::string& payload, Outcome* outcome) {
  Forwarder f(t, ForwarderOptions{});
  std::vector<std::string> sent;
  Outcome o = f.handle(parsed(payload), [&](const std::string& s) { sent.push_back(s); });
  if (outcome) *outcome = o;
  return sent;
}

}  // namespace

TEST(service_parses_requests_like_the_node_endpoint) {
  auto h = parseServiceRequest(R"J({"id":7,"op":"health"})J");
  REQUIRE(h.request.has_value());
  CHECK(h.request->op == ServiceRequest::Op::Health);
  CHECK_EQ(h.request->id, 7);
  auto a = parseServiceRequest(R"J({"id":8,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"rdp","code":"123456","enforced":true,"number_matching":true})J");
  REQUIRE(a.request.has_value());
  CHECK_EQ(a.request->auth.username, std::string("alice"));
  CHECK(a.request->auth.scenario == Scenario::Rdp);
  CHECK(a.request->auth.code.has_value() && *a.request->auth.code == "123456");
  CHECK(a.request->auth.enforced.has_value() && *a.request->auth.enforced);
  CHECK(a.request->auth.numberMatching);
  // Domain and workstation may be left out; code null is no code.
  auto m = parseServiceRequest(R"J({"id":9,"op":"authenticate","username":"bob","scenario":"logon","code":null})J");
  REQUIRE(m.request.has_value());
  CHECK_EQ(m.request->auth.domain, std::string(""));
  CHECK(!m.request->auth.code.has_value());
}

TEST(service_refuses_what_the_node_endpoint_refuses_with_the_same_message) {
  struct Case {
    const char* payload;
    const char* message;
    bool hasId;
  };
  const Case cases[] = {
      {"not json", "frame is not JSON", false},
      {"[1]", "frame is not a JSON object", false},
      {R"J({"op":"health"})J", "request has no integer id", false},
      {R"J({"id":1.5,"op":"health"})J", "request has no integer id", false},
      {R"J({"id":9007199254740992,"op":"health"})J", "request has no integer id", false},
      {R"J({"id":1,"op":"shutdown"})J", "unknown op \"shutdown\"", true},
      {R"J({"id":1,"op":"authenticate","scenario":"logon"})J", "authenticate needs a username", true},
      {R"J({"id":1,"op":"authenticate","username":"  ","scenario":"logon"})J", "authenticate needs a username", true},
      {R"J({"id":1,"op":"authenticate","username":"a\u0007b","scenario":"logon"})J", "authenticate needs a username", true},
      {R"J({"id":1,"op":"authenticate","username":"a","domain":5,"scenario":"logon"})J", "domain and workstation must be short strings", true},
      {R"J({"id":1,"op":"authenticate","username":"a","scenario":"ssh"})J", "scenario must be logon, unlock, rdp or credui", true},
      {R"J({"id":1,"op":"authenticate","username":"a","scenario":"logon","code":"12345678901234567"})J", "code must be a short string", true},
      {R"J({"id":1,"op":"authenticate","username":"a","scenario":"logon","enforced":"yes"})J", "enforced must be true or false", true},
      {R"J({"id":1,"op":"authenticate","username":"a","scenario":"logon","number_matching":1})J", "number_matching must be true or false", true},
  };
  for (const auto& c : cases) {
    auto p = parseServiceRequest(c.payload);
    CHECK(!p.request.has_value());
    CHECK_EQ(p.error, std::string(c.message));
    CHECK_EQ(p.id.has_value(), c.hasId);
  }
  // A 256-character name passes, 257 do not (counted as JavaScript counts: UTF-16 units).
  std::string name(256, 'x');
  CHECK(parseServiceRequest(R"J({"id":1,"op":"authenticate","scenario":"logon","username":")J" + name + "\"}").request.has_value());
  CHECK(!parseServiceRequest(R"J({"id":1,"op":"authenticate","scenario":"logon","username":")J" + name + "x\"}").request.has_value());
  CHECK_EQ(errorReply(std::nullopt, "frame is not JSON"), std::string(R"J({"id":null,"result":"error","message":"frame is not JSON"})J"));
}

TEST(service_health_maps_every_failure_to_the_logon_screen_texts) {
  FakeTransport t;
  t.next = okJson(R"J({"status":"ok","message":"Service Status: OK"})J");
  auto sent = run(t, R"J({"id":1,"op":"health"})J");
  REQUIRE(sent.size() == 1);
  CHECK_EQ(sent[0], std::string(R"J({"id":1,"status":"ok","message":"Service Status: OK"})J"));
  CHECK_EQ(t.lastPath, std::string("health"));
  CHECK_EQ(t.lastTimeout, 10000);
  t.next = AgentAnswer{AgentAnswer::Kind::Unreachable, 0, "", "", "connection refused"};
  CHECK_EQ(first(t, R"J({"id":2,"op":"health"})J"), std::string(R"J({"id":2,"status":"api_unreachable","message":"service can not connect to API. Check network connectivity and API parameters."})J"));
  t.next = AgentAnswer{AgentAnswer::Kind::Timeout, 0, "", "", ""};
  CHECK_EQ(first(t, R"J({"id":3,"op":"health"})J"), std::string(R"J({"id":3,"status":"api_timeout","message":"API call timed out."})J"));
  t.next = AgentAnswer{AgentAnswer::Kind::Refused, 401, "application/json", "", ""};
  CHECK_EQ(first(t, R"J({"id":4,"op":"health"})J"), std::string(R"J({"id":4,"status":"error","message":"error (the appliance refused the agent token)"})J"));
  t.next = AgentAnswer{AgentAnswer::Kind::Ok, 500, "text/html", "<html>", ""};
  CHECK_EQ(first(t, R"J({"id":5,"op":"health"})J"), std::string(R"J({"id":5,"status":"error","message":"error (appliance answered HTTP 500)"})J"));
}

TEST(service_authenticate_forwards_the_fields_and_passes_the_verdict_back) {
  FakeTransport t;
  t.next = okJson(R"J({"result":"approved","message":"Approved."})J");
  Outcome o{};
  auto sent = run(t, R"J({"id":11,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"logon","code":"123456"})J", &o);
  REQUIRE(sent.size() == 1);
  CHECK_EQ(sent[0], std::string(R"J({"id":11,"result":"approved","message":"Approved."})J"));
  CHECK(o == Outcome::Approved);
  CHECK_EQ(t.lastPath, std::string("authenticate"));
  CHECK_EQ(t.lastBody, std::string(R"J({"id":1,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"logon","code":"123456"})J"));
  CHECK_EQ(t.lastTimeout, 120000);
  // Only "approved" approves; anything else the appliance says is passed on as it is.
  t.next = okJson(R"J({"result":"code_required","message":"Enter the code."})J");
  CHECK_EQ(first(t, R"J({"id":12,"op":"authenticate","username":"a","scenario":"logon"})J", &o), std::string(R"J({"id":12,"result":"code_required","message":"Enter the code."})J"));
  CHECK(o == Outcome::CodeRequired);
  t.next = okJson(R"J({"message":"?"})J");
  run(t, R"J({"id":13,"op":"authenticate","username":"a","scenario":"logon"})J", &o);
  CHECK(o == Outcome::Error);
  t.next = AgentAnswer{AgentAnswer::Kind::Timeout, 0, "", "", ""};
  CHECK_EQ(first(t, R"J({"id":14,"op":"authenticate","username":"a","scenario":"logon"})J", &o), std::string(R"J({"id":14,"result":"error","message":"API call timed out."})J"));
  CHECK(o == Outcome::ApplianceUnreachable);
}

TEST(service_number_matching_streams_the_number_before_the_verdict_only_to_a_client_that_shows_it) {
  FakeTransport t;
  const std::string number = R"J({"result":"number","number":42,"message":"On your phone, pick 42."})J";
  t.chunks = {number.substr(0, 10), number.substr(10) + "\n", R"J({"result":"approved","message":"ok"})J" "\n"};
  t.next = AgentAnswer{AgentAnswer::Kind::Ok, 200, "application/x-ndjson", number + "\n" + R"J({"result":"approved","message":"ok"})J" + "\n", ""};
  auto sent = run(t, R"J({"id":21,"op":"authenticate","username":"a","scenario":"logon","number_matching":true})J");
  REQUIRE(sent.size() == 2);
  CHECK_EQ(sent[0], std::string(R"J({"id":21,"result":"number","number":42,"message":"On your phone, pick 42."})J"));
  CHECK_EQ(sent[1], std::string(R"J({"id":21,"result":"approved","message":"ok"})J"));
  CHECK(t.lastBody.find("\"number_matching\":true") != std::string::npos);
  // A client that cannot show a number: not asked for one, and never sent one.
  sent = run(t, R"J({"id":22,"op":"authenticate","username":"a","scenario":"logon"})J");
  REQUIRE(sent.size() == 1);
  CHECK(t.lastBody.find("number_matching") == std::string::npos);
  // A stream that ends without a final line is an error, not an approval.
  t.chunks = {number + "\n"};
  t.next = AgentAnswer{AgentAnswer::Kind::Ok, 200, "application/x-ndjson", number + "\n", ""};
  sent = run(t, R"J({"id":23,"op":"authenticate","username":"a","scenario":"logon","number_matching":true})J");
  REQUIRE(sent.size() == 2);
  CHECK_EQ(sent[1], std::string(R"J({"id":23,"result":"error","message":"error (the appliance sent no final answer)"})J"));
}

// ---- settings and pipe policy ----

#include "service_config.h"

TEST(service_config_reads_the_registry_values_and_names_a_bad_one) {
  auto ok = readConfig({{"ApplianceUrl", "https://gatehouse.corp.example:8443/mfa"}, {"TokenFile", "C:\\ProgramData\\Gatehouse\\agent.token"}, {"AllowInteractiveUser", "1"}, {"CertSha256", "AB:CD:" + std::string(60, 'e')}});
  REQUIRE(ok.config.has_value());
  CHECK_EQ(ok.config->host, std::string("gatehouse.corp.example"));
  CHECK_EQ(ok.config->port, 8443);
  CHECK_EQ(ok.config->basePath, std::string("/mfa/"));
  CHECK(ok.config->allowInteractiveUser);
  CHECK_EQ(ok.config->certSha256, "abcd" + std::string(60, 'e'));
  CHECK_EQ(ok.config->pipeName, std::string("gatehouse"));
  CHECK(ok.config->offlineLogon);
  auto off = readConfig({{"ApplianceUrl", "https://host/"}, {"OfflineLogon", "0"}, {"OfflineStateFile", "D:\\gh\\offline.bin"}});
  REQUIRE(off.config.has_value());
  CHECK(!off.config->offlineLogon);
  CHECK_EQ(off.config->offlineStateFile, std::string("D:\\gh\\offline.bin"));
  auto v6 = readConfig({{"ApplianceUrl", "https://[2001:db8::5]/"}});
  REQUIRE(v6.config.has_value());
  CHECK_EQ(v6.config->host, std::string("2001:db8::5"));
  CHECK_EQ(v6.config->port, 443);
  const std::pair<std::map<std::string, std::string>, const char*> bad[] = {
      {{}, "ApplianceUrl: not set"},
      {{{"ApplianceUrl", "http://gatehouse/"}}, "ApplianceUrl: must start with https://"},
      {{{"ApplianceUrl", "https://user@host/"}}, "ApplianceUrl: must name a host"},
      {{{"ApplianceUrl", "https://host:99999/"}}, "ApplianceUrl: bad port"},
      {{{"ApplianceUrl", "https://host/"}, {"CertSha256", "abc"}}, "CertSha256:"},
      {{{"ApplianceUrl", "https://host/"}, {"PipeName", "..\\x"}}, "PipeName:"},
      {{{"ApplianceUrl", "https://host/"}, {"AllowInteractiveUser", "maybe"}}, "AllowInteractiveUser:"},
      {{{"ApplianceUrl", "https://host/"}, {"MaxConnectionsPerProcess", "0"}}, "MaxConnectionsPerProcess:"},
      {{{"ApplianceUrl", "https://host/"}, {"OfflineLogon", "sometimes"}}, "OfflineLogon: 0 or 1"},
  };
  for (const auto& [values, expected] : bad) {
    auto r = readConfig(values);
    CHECK(!r.config.has_value());
    CHECK(r.error.rfind(expected, 0) == 0);
  }
}

TEST(service_pipe_sddl_grants_system_only_unless_the_interactive_user_is_needed) {
  CHECK_EQ(pipeSddl(false), std::string("D:P(A;;GA;;;SY)"));
  CHECK_EQ(pipeSddl(true), std::string("D:P(A;;GA;;;SY)(A;;GRGW;;;IU)"));
  CHECK(pipeSddl(true).find(";;;WD)") == std::string::npos);
  CHECK(pipeSddl(true).find(";;;AN)") == std::string::npos);
}

TEST(service_connection_limiter_bounds_each_process_and_the_total) {
  ConnectionLimiter l(2, 3);
  CHECK(l.acquire(10));
  CHECK(l.acquire(10));
  CHECK(!l.acquire(10));
  CHECK(l.acquire(20));
  CHECK(!l.acquire(30));
  CHECK_EQ(l.open(), 3);
  l.release(10);
  CHECK(l.acquire(30));
  CHECK_EQ(l.openFor(10), 1);
  l.release(99);
  CHECK_EQ(l.open(), 3);
}

TEST(service_token_and_fingerprint_are_cleaned) {
  CHECK_EQ(cleanToken("  gh_agent_0123456789abcdef\r\n"), std::string("gh_agent_0123456789abcdef"));
  CHECK_EQ(cleanToken("short"), std::string(""));
  CHECK_EQ(cleanToken("has a space inside it here"), std::string(""));
  CHECK_EQ(normalizeSha256(std::string(64, 'A')), std::string(64, 'a'));
  CHECK_EQ(normalizeSha256("zz"), std::string(""));
}

// ---- offline logon store ----

#include "offline_store.h"

namespace {

/// A stand-in for PBKDF2 in these tests: deterministic, depends on every input, 32 bytes, and
/// counts its calls (the real one is BCrypt on Windows, crypto.pbkdf2 on the appliance).
int hashCalls = 0;
std::string fakePbkdf2(const std::string& password, const std::string& salt, std::uint32_t iterations) {
  ++hashCalls;
  std::uint64_t h = 1469598103934665603ULL ^ iterations;
  for (char c : salt + "|" + password) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    h = (h ^ static_cast<std::uint64_t>(i)) * 1099511628211ULL;
    for (int b = 0; b < 8; ++b) out += static_cast<char>((h >> (8 * b)) & 0xFF);
  }
  return out;
}

/// What the appliance sends for a user: the hashes of `codes` (one per step from `firstStep`).
OfflineEntry entryFor(std::int64_t firstStep, const std::vector<std::string>& codes) {
  OfflineEntry e;
  e.salt = "salt-0123456789a";
  e.iterations = 600;
  e.firstStep = firstStep;
  for (std::size_t i = 0; i < codes.size(); ++i) e.hashes.push_back(fakePbkdf2(OfflineStore::material(firstStep + static_cast<std::int64_t>(i), codes[i]), e.salt, e.iterations));
  return e;
}

}  // namespace

TEST(offline_a_code_of_its_step_works_once_and_burns_the_steps_before_it) {
  OfflineStore store(fakePbkdf2);
  const std::int64_t t0 = 1'800'000'000;  // a time; steps of 30 s from t0/30
  const std::int64_t s0 = t0 / 30;
  store.put("corp\\wanda", entryFor(s0, {"111111", "222222", "333333", "444444"}));
  CHECK(store.verify("corp\\wanda", "222222", t0 + 30) == OfflineVerdict::Approved);
  // The same code again, or an older one: refused (replay).
  CHECK(store.verify("corp\\wanda", "222222", t0 + 30) == OfflineVerdict::Denied);
  CHECK(store.verify("corp\\wanda", "111111", t0 + 30) == OfflineVerdict::Denied);
  // One step of clock drift either way.
  CHECK(store.verify("corp\\wanda", "444444", t0 + 60) == OfflineVerdict::Approved);
  CHECK_EQ(store.lastStep("corp\\wanda").value_or(-1), s0 + 3);
  // Outside the window, and an unknown user: not available (the provider then says so).
  CHECK(store.verify("corp\\wanda", "444444", t0 + 3600) == OfflineVerdict::NotAvailable);
  CHECK(store.verify("corp\\nobody", "111111", t0) == OfflineVerdict::NotAvailable);
}

TEST(offline_five_wrong_codes_lock_until_the_next_online_sign_in) {
  OfflineStore store(fakePbkdf2);
  const std::int64_t t0 = 1'800'000'000;
  store.put("bob", entryFor(t0 / 30, {"123456", "234567", "345678"}));
  for (int i = 1; i < kOfflineMaxFailures; ++i) CHECK(store.verify("bob", "000000", t0) == OfflineVerdict::Denied);
  CHECK(store.verify("bob", "000000", t0) == OfflineVerdict::Locked);
  // Locked: even the right code is refused, without hashing anything.
  hashCalls = 0;
  CHECK(store.verify("bob", "123456", t0) == OfflineVerdict::Locked);
  CHECK_EQ(hashCalls, 0);
  // A malformed code counts as a failure and is never hashed.
  store.put("bob", entryFor(t0 / 30, {"123456"}));
  hashCalls = 0;
  CHECK(store.verify("bob", "12ab56", t0) == OfflineVerdict::Denied);
  CHECK_EQ(hashCalls, 0);
  // The next online sign-in brings fresh material and clears the lockout.
  CHECK(store.verify("bob", "123456", t0) == OfflineVerdict::Approved);
}

TEST(offline_store_round_trips_and_refuses_foreign_or_broken_bytes) {
  OfflineStore store(fakePbkdf2);
  const std::int64_t t0 = 1'800'000'000;
  store.put("wanda", entryFor(t0 / 30, {"111111", "222222"}));
  store.put("bob", entryFor(t0 / 30, {"333333"}));
  CHECK(store.verify("wanda", "111111", t0) == OfflineVerdict::Approved);
  CHECK(store.verify("bob", "999999", t0) == OfflineVerdict::Denied);
  const std::string bytes = store.serialize();
  OfflineStore copy(fakePbkdf2);
  REQUIRE(copy.deserialize(bytes));
  // Used steps and failures survive a restart of the service.
  CHECK(copy.verify("wanda", "111111", t0) == OfflineVerdict::Denied);
  CHECK(copy.verify("wanda", "222222", t0 + 30) == OfflineVerdict::Approved);
  CHECK(!copy.deserialize("GHOFF0" + bytes.substr(6)));
  CHECK(!copy.deserialize(bytes.substr(0, bytes.size() - 1)));
  CHECK(!copy.deserialize(bytes + "x"));
  CHECK(!copy.has("wanda"));
  // Windows over: pruned.
  store.prune(t0 + 3600);
  CHECK(!store.has("wanda") && !store.has("bob"));
}

// ---- offline logon in the service ----

#include "offline_logon.h"

#include <atomic>
#include <thread>

namespace {

std::string base64(const std::string& in) {
  static const char* const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) | (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += abc[(n >> 18) & 63], out += abc[(n >> 12) & 63], out += abc[(n >> 6) & 63], out += abc[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    out += abc[(n >> 18) & 63], out += abc[(n >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) | (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8);
    out += abc[(n >> 18) & 63], out += abc[(n >> 12) & 63], out += abc[(n >> 6) & 63], out += '=';
  }
  return out;
}

/// The appliance's `{"offline": ...}` line for `codes` from `firstStep` (what app/mfa/offline.ts sends).
std::string offlineLine(std::int64_t firstStep, const std::vector<std::string>& codes, std::int64_t iterations = 1000) {
  const std::string salt = "0123456789abcdef";
  std::string hashes;
  for (std::size_t i = 0; i < codes.size(); ++i) hashes += fakePbkdf2(OfflineStore::material(firstStep + static_cast<std::int64_t>(i), codes[i]), salt, static_cast<std::uint32_t>(iterations));
  return R"J({"offline":{"username":"wanda","salt":")J" + base64(salt) + R"J(","iterations":)J" + std::to_string(iterations) + R"J(,"first_step":)J" + std::to_string(firstStep) + R"J(,"hashes":")J" + base64(hashes) + "\"}}";
}

AgentAnswer ndjson(const std::vector<std::string>& lines) {
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  return AgentAnswer{AgentAnswer::Kind::Ok, 200, "application/x-ndjson", body, ""};
}

AgentAnswer unreachable() { return AgentAnswer{AgentAnswer::Kind::Unreachable, 0, "", "", "12029: cannot connect"}; }

struct OfflineRig {
  FakeTransport t;
  std::int64_t nowMs = 1'800'000'000'000;  // a multiple of 30 s
  int saves = 0;
  std::string saved;
  OfflineLogons offline{fakePbkdf2, [this](const std::string& state) { ++saves, saved = state; }};
  Forwarder f{t, ForwarderOptions{}, offline, [this] { return nowMs; }};
  std::vector<std::string> sent;
  Outcome send(const std::string& payload) {
    sent.clear();
    return f.handle(parsed(payload), [&](const std::string& s) { sent.push_back(s); });
  }
  /// An approved online sign-in of wanda with a code, which brings the offline codes `line`.
  Outcome signIn(const std::string& line);
};

const char* const kWanda = R"J({"id":5,"op":"authenticate","username":"Wanda","domain":"CORP","workstation":"LAPTOP-3","scenario":"logon")J";

Outcome OfflineRig::signIn(const std::string& line) {
  t.next = ndjson({R"J({"result":"approved","message":"ok"})J", line});
  return send(std::string(kWanda) + R"J(,"code":"000000"})J");
}

}  // namespace

TEST(offline_an_online_totp_sign_in_brings_codes_the_final_reply_is_not_held_for_them) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  const std::string final = R"J({"result":"approved","message":"ok"})J";
  const std::string material = offlineLine(step + 1, {"111111", "222222", "333333"});
  r.t.chunks = {final + "\n", material.substr(0, 20), material.substr(20) + "\n"};
  r.t.next = ndjson({final, material});
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"000000"})J") == Outcome::Approved);
  // Asked with what it holds (nothing yet); the reply went out once, before the codes arrived.
  CHECK_EQ(r.t.paths[0], std::string("authenticate?offline_until=0"));
  REQUIRE(r.sent.size() == 1);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":5,"result":"approved","message":"ok"})J"));
  CHECK_EQ(r.offline.heldThrough("corp\\wanda"), step + 3);
  CHECK(r.saves >= 1);
  // The next sign-in says what it holds.
  r.t.chunks = {};
  r.t.next = okJson(R"J({"result":"code_required","message":"code?"})J");
  CHECK(r.send(std::string(kWanda) + "}") == Outcome::CodeRequired);
  CHECK_EQ(r.t.lastPath, "authenticate?offline_until=" + std::to_string(step + 3));
}

TEST(offline_while_unreachable_the_code_is_asked_checked_once_and_reported_when_back) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222", "333333", "444444"}));
  r.t.next = unreachable();
  // No code typed: the logon screen is asked for one, with a text that says why.
  CHECK(r.send(std::string(kWanda) + "}") == Outcome::OfflineCodeRequired);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":5,"result":"code_required","message":")J") + kOfflineCodeRequiredMessage + "\"}");
  // The code of this step: approved offline; the same code again: refused.
  r.nowMs += 30000;
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"222222"})J") == Outcome::OfflineApproved);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":5,"result":"approved","message":")J") + kOfflineApprovedMessage + "\"}");
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"222222"})J") == Outcome::OfflineDenied);
  CHECK(r.sent[0].find("\"result\":\"denied\"") != std::string::npos);
  // The user name is matched without regard to case, the domain too; another user has nothing.
  CHECK(r.send(R"J({"id":6,"op":"authenticate","username":"wanda","domain":"corp","workstation":"LAPTOP-3","scenario":"unlock","code":"333333"})J") == Outcome::OfflineApproved);
  CHECK(r.send(R"J({"id":7,"op":"authenticate","username":"bob","domain":"CORP","workstation":"LAPTOP-3","scenario":"logon","code":"333333"})J") == Outcome::ApplianceUnreachable);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":7,"result":"error","message":")J") + kUnreachableMessage + "\"}");
  CHECK_EQ(r.offline.pendingReports(), std::size_t(3));
  // Back online: the next answer from the appliance (a health check here) sends the reports.
  r.t.queue = {okJson(R"J({"status":"ok","message":"Service Status: OK"})J"), okJson(R"J({"recorded":3})J")};
  CHECK(r.send(R"J({"id":8,"op":"health"})J") == Outcome::Health);
  CHECK_EQ(r.t.lastPath, std::string("offline-logons"));
  auto body = parseJson(r.t.lastBody);
  REQUIRE(body.has_value());
  const auto& logons = body->get("logons")->items();
  REQUIRE(logons.size() == 3);
  CHECK_EQ(*logons[0].getString("result"), std::string("approved"));
  CHECK_EQ(*logons[1].getString("result"), std::string("denied"));
  CHECK_EQ(*logons[2].getString("scenario"), std::string("unlock"));
  CHECK_EQ(*logons[0].getInteger("at"), r.nowMs);
  CHECK_EQ(r.offline.pendingReports(), std::size_t(0));
  // Reports the appliance did not take stay for the next time.
  r.t.next = unreachable();
  r.send(std::string(kWanda) + R"J(,"code":"999999"})J");
  r.t.queue = {okJson(R"J({"status":"ok","message":"Service Status: OK"})J"), AgentAnswer{AgentAnswer::Kind::Ok, 500, "application/json", "{}", ""}};
  r.send(R"J({"id":9,"op":"health"})J");
  CHECK_EQ(r.offline.pendingReports(), std::size_t(1));
}

TEST(offline_five_wrong_codes_lock_and_an_online_refusal_drops_the_codes) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222"}));
  r.t.next = unreachable();
  for (int i = 1; i < kOfflineMaxFailures; ++i) CHECK(r.send(std::string(kWanda) + R"J(,"code":"999999"})J") == Outcome::OfflineDenied);
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"999999"})J") == Outcome::OfflineLocked);
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"111111"})J") == Outcome::OfflineLocked);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":5,"result":"locked","message":")J") + kOfflineLockedMessage + "\"}");
  // An online refusal (here: denied) drops the user's codes at once.
  r.t.next = ndjson({R"J({"result":"denied","message":"no"})J"});
  r.send(std::string(kWanda) + R"J(,"code":"000000"})J");
  CHECK_EQ(r.offline.heldThrough("corp\\wanda"), 0);
  r.t.next = unreachable();
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"111111"})J") == Outcome::ApplianceUnreachable);
  // Codes outside their window are not offered.
  r.signIn(offlineLine(step + 100, {"111111"}));
  r.t.next = unreachable();
  CHECK(r.send(std::string(kWanda) + "}") == Outcome::ApplianceUnreachable);
}

TEST(offline_state_survives_a_restart_and_refuses_bad_material) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222"}));
  r.t.next = unreachable();
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"111111"})J") == Outcome::OfflineApproved);
  // What was saved last is the whole state: the codes, the used step and the report.
  OfflineLogons again(fakePbkdf2, {});
  REQUIRE(again.load(r.saved));
  CHECK_EQ(again.pendingReports(), std::size_t(1));
  AuthenticateRequest w;
  w.username = "wanda";
  w.domain = "corp";
  CHECK(again.verify(w, "111111", r.nowMs) == OfflineVerdict::Denied);
  CHECK(again.verify(w, "222222", r.nowMs + 30000) == OfflineVerdict::Approved);
  CHECK(!again.load(r.saved.substr(0, r.saved.size() - 3)));
  CHECK(!again.load("GHOFL0" + r.saved.substr(6)));
  CHECK_EQ(again.pendingReports(), std::size_t(0));
  // Material that is not what the appliance sends is refused (and the user has no codes).
  std::string why;
  for (const char* bad : {R"J({"salt":"!!!!","iterations":1000,"first_step":5,"hashes":""})J", R"J({"salt":"MDEyMzQ1Njc4OWFiY2RlZg==","iterations":10,"first_step":5,"hashes":"AAAA"})J",
                          R"J({"salt":"MDEyMzQ1Njc4OWFiY2RlZg==","iterations":1000,"first_step":5,"hashes":"AAAA"})J"}) {
    CHECK(!again.take("corp\\x", *parseJson(bad), &why));
    CHECK(why.rfind("offline codes:", 0) == 0);
  }
  CHECK_EQ(again.heldThrough("corp\\x"), 0);
  std::string out;
  CHECK(decodeBase64("aGVsbG8=", out) && out == "hello");
  CHECK(!decodeBase64("aGVsbG8", out));
  CHECK(!decodeBase64("aG=sbG8=", out));
}

TEST(offline_a_code_typed_on_several_connections_at_once_is_accepted_once) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222"}));
  AuthenticateRequest w;
  w.username = "WANDA";
  w.domain = "Corp";
  std::atomic<int> approved{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      const OfflineVerdict v = r.offline.verify(w, "111111", r.nowMs);
      (v == OfflineVerdict::Approved ? approved : refused)++;
    });
  }
  for (auto& t : threads) t.join();
  CHECK_EQ(approved.load(), 1);
  CHECK_EQ(refused.load(), 7);
  CHECK_EQ(r.offline.pendingReports(), std::size_t(8));
}

TEST(offline_a_reply_already_streamed_is_the_answer_even_when_the_stream_then_breaks) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222", "333333"}));
  // Approved (streamed), then the connection breaks while the codes come: one reply, approved,
  // and no offline check of the code typed.
  r.t.chunks = {R"J({"result":"approved","message":"ok again"})J" "\n"};
  r.t.next = AgentAnswer{AgentAnswer::Kind::Timeout, 0, "", "", "12002: timed out"};
  const std::size_t reports = r.offline.pendingReports();
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"222222"})J") == Outcome::Approved);
  REQUIRE(r.sent.size() == 1);
  CHECK_EQ(r.sent[0], std::string(R"J({"id":5,"result":"approved","message":"ok again"})J"));
  CHECK_EQ(r.offline.pendingReports(), reports);
  // Denied (streamed), then broken: the user's codes are dropped all the same.
  r.t.chunks = {R"J({"result":"denied","message":"no"})J" "\n"};
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"999999"})J") == Outcome::Denied);
  REQUIRE(r.sent.size() == 1);
  CHECK_EQ(r.offline.heldThrough("corp\\wanda"), 0);
}

TEST(offline_an_online_approval_spends_the_code_here_and_ends_the_offline_lockout) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222", "333333", "444444"}));
  r.t.next = unreachable();
  for (int i = 0; i < kOfflineMaxFailures; ++i) r.send(std::string(kWanda) + R"J(,"code":"999999"})J");
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"111111"})J") == Outcome::OfflineLocked);
  // Online again, approved with a code (no fresh codes this time: the machine holds enough).
  r.t.next = ndjson({R"J({"result":"approved","message":"ok"})J"});
  r.send(std::string(kWanda) + R"J(,"code":"222222"})J");
  // Offline again: the lockout is over, and the steps up to now+1 are spent (the code typed
  // online, seen over a shoulder, does not work here).
  r.t.next = unreachable();
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"222222"})J") == Outcome::OfflineDenied);
  r.nowMs += 60000;
  CHECK(r.send(std::string(kWanda) + R"J(,"code":"333333"})J") == Outcome::OfflineApproved);
}

TEST(offline_reports_the_appliance_cannot_take_are_dropped_those_it_may_later_are_kept) {
  OfflineRig r;
  const std::int64_t step = r.nowMs / 30000;
  r.signIn(offlineLine(step, {"111111", "222222"}));
  r.t.next = unreachable();
  r.send(std::string(kWanda) + R"J(,"code":"999999"})J");
  const AgentAnswer health = okJson(R"J({"status":"ok","message":"Service Status: OK"})J");
  r.t.queue = {health, AgentAnswer{AgentAnswer::Kind::Ok, 429, "application/json", "{}", ""}};
  r.send(R"J({"id":8,"op":"health"})J");
  CHECK_EQ(r.offline.pendingReports(), std::size_t(1));
  r.t.queue = {health, AgentAnswer{AgentAnswer::Kind::Ok, 400, "application/json", R"J({"error":"logons[0].username"})J", ""}};
  r.send(R"J({"id":9,"op":"health"})J");
  CHECK_EQ(r.offline.pendingReports(), std::size_t(0));
}
