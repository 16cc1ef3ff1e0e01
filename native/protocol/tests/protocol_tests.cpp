// Framing, JSON, messages and UTF conversion.
#include <string>

#include "gatehouse/frame.h"
#include "gatehouse/json.h"
#include "gatehouse/messages.h"
#include "gatehouse/utf.h"
#include "test.h"

using namespace gatehouse;

namespace {

std::string header(std::uint32_t n) {
  std::string h(4, '\0');
  for (int k = 0; k < 4; ++k) h[k] = static_cast<char>((n >> (8 * k)) & 0xFF);
  return h;
}

std::string roundTrip(const std::string& s, bool asciiOnly) {
  std::string j;
  appendJsonString(j, s, asciiOnly);
  auto v = parseJson(j);
  return v && v->isString() ? v->asString() : std::string("<parse failed: ") + j + ">";
}

}  // namespace

// ---- UTF ----

TEST(utf_round_trip_bmp_and_astral) {
  const std::string s = u8"a\u00e9\u20ac\U0001F600z";
  const std::u16string w = utf8ToUtf16(s);
  CHECK_EQ(w.size(), std::size_t(6));  // a é € (2 units) z
  CHECK_EQ(static_cast<unsigned>(w[3]), 0xD83Du);
  CHECK_EQ(static_cast<unsigned>(w[4]), 0xDE00u);
  CHECK_EQ(utf16ToUtf8(w), s);
  CHECK(isValidUtf8(s));
}

TEST(utf_invalid_input_becomes_replacement) {
  CHECK(!isValidUtf8("\xC3"));              // truncated
  CHECK(!isValidUtf8("\xC0\xAF"));          // overlong '/'
  CHECK(!isValidUtf8("\xED\xA0\x80"));      // encoded surrogate
  CHECK(!isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_EQ(utf16ToUtf8(utf8ToUtf16("a\xFF" "b")), std::string(u8"a\uFFFDb"));
  const std::u16string lone = {u'x', static_cast<char16_t>(0xD800), u'y'};
  CHECK_EQ(utf16ToUtf8(lone), std::string(u8"x\uFFFDy"));
  const std::u16string lowFirst = {static_cast<char16_t>(0xDC00), static_cast<char16_t>(0xD800)};
  CHECK_EQ(utf16ToUtf8(lowFirst), std::string(u8"\uFFFD\uFFFD"));
}

// ---- framing ----

TEST(frame_encode_limits) {
  std::string out, err;
  CHECK(!encodeFrame("", out, &err));
  CHECK(out.empty());
  CHECK(err.find("empty") != std::string::npos);
  CHECK(encodeFrame("x", out));
  CHECK_EQ(out, header(1) + "x");
  out.clear();
  const std::string max(65536, 'a');
  CHECK(encodeFrame(max, out));
  CHECK_EQ(out.size(), std::size_t(65540));
  CHECK_EQ(out.substr(0, 4), header(65536));
  out.clear();
  CHECK(!encodeFrame(std::string(65537, 'a'), out, &err));
  CHECK(out.empty());
  CHECK(err.find("65536") != std::string::npos);
}

TEST(frame_little_endian_length) {
  std::string out;
  CHECK(encodeFrame(std::string(0x0102, 'z'), out));
  CHECK_EQ(static_cast<unsigned char>(out[0]), 0x02);
  CHECK_EQ(static_cast<unsigned char>(out[1]), 0x01);
  CHECK_EQ(static_cast<unsigned char>(out[2]), 0x00);
  CHECK_EQ(static_cast<unsigned char>(out[3]), 0x00);
}

TEST(frame_decoder_byte_by_byte) {
  std::string stream;
  encodeFrame(R"({"id":1,"status":"ok"})", stream);
  encodeFrame(R"({"id":2})", stream);
  FrameDecoder d;
  std::vector<std::string> got;
  std::string p;
  for (char c : stream) {
    d.feed(&c, 1);
    while (d.next(p) == FrameDecoder::Status::Frame) got.push_back(p);
  }
  REQUIRE(got.size() == 2);
  CHECK_EQ(got[0], std::string(R"({"id":1,"status":"ok"})"));
  CHECK_EQ(got[1], std::string(R"({"id":2})"));
  CHECK_EQ(d.buffered(), std::size_t(0));
  CHECK(d.next(p) == FrameDecoder::Status::NeedMore);
}

TEST(frame_decoder_several_frames_in_one_read) {
  std::string stream;
  for (int i = 0; i < 5; ++i) encodeFrame("{\"id\":" + std::to_string(i) + "}", stream);
  FrameDecoder d;
  d.feed(stream.data(), stream.size());
  std::string p;
  int n = 0;
  while (d.next(p) == FrameDecoder::Status::Frame) {
    CHECK_EQ(p, "{\"id\":" + std::to_string(n) + "}");
    ++n;
  }
  CHECK_EQ(n, 5);
}

TEST(frame_decoder_partial_header_and_body) {
  FrameDecoder d;
  std::string p;
  const std::string h = header(10);
  d.feed(h.data(), 3);
  CHECK(d.next(p) == FrameDecoder::Status::NeedMore);
  d.feed(h.data() + 3, 1);
  CHECK(d.next(p) == FrameDecoder::Status::NeedMore);
  d.feed("12345", 5);
  CHECK(d.next(p) == FrameDecoder::Status::NeedMore);
  CHECK_EQ(d.buffered(), std::size_t(9));  // a truncated frame if the stream ended here
  d.feed("67890", 5);
  CHECK(d.next(p) == FrameDecoder::Status::Frame);
  CHECK_EQ(p, std::string("1234567890"));
}

TEST(frame_decoder_rejects_zero_length) {
  FrameDecoder d;
  const std::string h = header(0);
  d.feed(h.data(), h.size());
  std::string p;
  CHECK(d.next(p) == FrameDecoder::Status::Error);
  CHECK(d.failed());
  CHECK(d.error().find("zero") != std::string::npos);
  d.feed("more", 4);  // stays failed
  CHECK(d.next(p) == FrameDecoder::Status::Error);
}

TEST(frame_decoder_accepts_65536_rejects_65537_at_header) {
  {
    FrameDecoder d;
    std::string stream;
    encodeFrame(std::string(65536, 'q'), stream);
    d.feed(stream.data(), stream.size());
    std::string p;
    CHECK(d.next(p) == FrameDecoder::Status::Frame);
    CHECK_EQ(p.size(), std::size_t(65536));
  }
  {
    FrameDecoder d;
    const std::string h = header(65537);
    d.feed(h.data(), h.size());  // only the header: refused without waiting for 65537 bytes
    std::string p;
    CHECK(d.next(p) == FrameDecoder::Status::Error);
    CHECK(d.error().find("65537") != std::string::npos);
  }
  {
    FrameDecoder d;
    const std::string h = header(0xFFFFFFFFu);
    d.feed(h.data(), h.size());
    std::string p;
    CHECK(d.next(p) == FrameDecoder::Status::Error);
  }
}

// ---- JSON ----

TEST(json_escapes_every_control_character) {
  std::string all;
  for (int c = 1; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  all += "\"\\/\x7f";
  std::string j;
  appendJsonString(j, all);
  for (char c : j) CHECK(static_cast<unsigned char>(c) >= 0x20);
  CHECK(j.find("\\n") != std::string::npos);
  CHECK(j.find("\\t") != std::string::npos);
  CHECK(j.find("\\u0001") != std::string::npos);
  CHECK(j.find("\\u001f") != std::string::npos);
  CHECK(j.find("\\\"") != std::string::npos);
  CHECK(j.find("\\\\") != std::string::npos);
  CHECK_EQ(roundTrip(all, false), all);
  CHECK_EQ(roundTrip(all, true), all);
  std::string nul("a\0b", 3);
  std::string jn;
  appendJsonString(jn, nul);
  CHECK_EQ(jn, std::string("\"a\\u0000b\""));
  CHECK_EQ(roundTrip(nul, false), nul);
}

TEST(json_unicode_round_trips) {
  const std::string s = u8"Zo\u00eb \u65e5\u672c \U0001F510 \u2028";
  CHECK_EQ(roundTrip(s, false), s);
  CHECK_EQ(roundTrip(s, true), s);
  std::string ascii;
  appendJsonString(ascii, u8"\U0001F510", true);
  CHECK_EQ(ascii, std::string("\"\\ud83d\\udd10\""));
  std::string sep;
  appendJsonString(sep, u8"\u2028");
  CHECK_EQ(sep, std::string("\"\\u2028\""));
}

TEST(json_surrogate_escapes) {
  auto v = parseJson(R"("\uD83D\uDE00 \u00e9 \u20AC")");
  REQUIRE(v && v->isString());
  CHECK_EQ(v->asString(), std::string(u8"\U0001F600 \u00e9 \u20ac"));
  auto lone = parseJson(R"("a\ud800b")");
  REQUIRE(lone);
  CHECK_EQ(lone->asString(), std::string(u8"a\uFFFDb"));
  auto loneLow = parseJson(R"("\udc00")");
  REQUIRE(loneLow);
  CHECK_EQ(loneLow->asString(), std::string(u8"\uFFFD"));
  auto highThenEscape = parseJson(R"("\ud800\n")");
  REQUIRE(highThenEscape);
  CHECK_EQ(highThenEscape->asString(), std::string(u8"\uFFFD\n"));
  auto highThenNonSurrogate = parseJson(R"("\ud800\u0041")");
  REQUIRE(highThenNonSurrogate);
  CHECK_EQ(highThenNonSurrogate->asString(), std::string(u8"\uFFFDA"));
  CHECK(!parseJson(R"("\u12")"));
  CHECK(!parseJson(R"("\uZZZZ")"));
}

TEST(json_writer_replaces_invalid_utf8) {
  std::string j;
  appendJsonString(j, "a\xC3(b");
  CHECK_EQ(j, std::string(u8"\"a\uFFFD(b\""));
  CHECK(isValidUtf8(j));
}

TEST(json_parser_rejects_bad_input) {
  const char* bad[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[1,]", "{\"a\":1,}", "tru", "nul", "01", "1.", "-", "1e",
                       "\"unterminated", "\"tab\there\"", "{\"a\":1} x", "'single'", "\"bad \\x escape\"", "\"\xC3\""};
  for (const char* b : bad) {
    std::string err;
    if (parseJson(b, &err)) testing::fail(__FILE__, __LINE__, std::string("accepted: ") + b);
    else CHECK(!err.empty());
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  CHECK(!parseJson(deep));
  std::string ok;
  for (int i = 0; i < 10; ++i) ok += "[";
  for (int i = 0; i < 10; ++i) ok += "]";
  CHECK(parseJson(ok).has_value());
}

TEST(json_values) {
  auto v = parseJson(" {\"a\" : [1, -2.5e3, true, false, null, \"x\"], \"big\": 9007199254740993, \"huge\": 1e400, \"a\": 7 } ");
  REQUIRE(v && v->isObject());
  CHECK_EQ(v->getInteger("a").value_or(0), std::int64_t(7));  // the last duplicate wins
  const JsonValue* arr = nullptr;
  for (const auto& m : v->members())
    if (m.first == "a" && m.second.isArray()) arr = &m.second;
  REQUIRE(arr != nullptr);
  REQUIRE(arr->items().size() == 6);
  CHECK(arr->items()[0].isInteger());
  CHECK(!arr->items()[1].isInteger());
  CHECK_EQ(arr->items()[1].asNumber(), -2500.0);
  CHECK(arr->items()[2].asBool());
  CHECK(arr->items()[4].isNull());
  CHECK_EQ(v->getInteger("big").value_or(0), std::int64_t(9007199254740993LL));
  CHECK(v->get("huge") != nullptr && !v->get("huge")->isInteger());
  CHECK(!v->getString("missing"));
  CHECK_EQ(toJson(*parseJson("{\"b\":[1,2.5,\"s\",null,true],\"c\":{}}")), std::string("{\"b\":[1,2.5,\"s\",null,true],\"c\":{}}"));
}

TEST(json_object_writer) {
  const std::string s = JsonObjectWriter().field("id", 5).field("s", "q\"\\").field("t", true).nullField("n").finish();
  CHECK_EQ(s, std::string(R"({"id":5,"s":"q\"\\","t":true,"n":null})"));
  CHECK_EQ(JsonObjectWriter().finish(), std::string("{}"));
}

// ---- messages ----

TEST(messages_build_requests) {
  CHECK_EQ(buildHealthRequest(1), std::string(R"({"id":1,"op":"health"})"));
  AuthenticateRequest r;
  r.username = "alice";
  r.domain = "CORP";
  r.workstation = "PC-7";
  r.scenario = Scenario::Logon;
  CHECK_EQ(buildAuthenticateRequest(2, r),
           std::string(R"({"id":2,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"logon"})"));
  r.code = "123456";
  r.scenario = Scenario::Rdp;
  CHECK_EQ(buildAuthenticateRequest(3, r),
           std::string(R"({"id":3,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"rdp","code":"123456"})"));
  r.username = u8"\"o'brien\\\u00e9\n";
  auto v = parseJson(buildAuthenticateRequest(4, r));
  REQUIRE(v);
  CHECK_EQ(v->getString("username").value_or(""), r.username);
  CHECK_EQ(v->getString("op").value_or(""), std::string("authenticate"));
  CHECK(v->get("password") == nullptr);
}

TEST(messages_number_matching_field_and_interim_reply) {
  AuthenticateRequest r;
  r.username = "alice";
  r.numberMatching = true;
  CHECK_EQ(buildAuthenticateRequest(5, r),
           std::string(R"({"id":5,"op":"authenticate","username":"alice","domain":"","workstation":"","scenario":"logon","number_matching":true})"));
  auto v = parseJson(R"({"id":5,"result":"number","number":42,"message":"On your phone, pick 42 to approve this sign-in."})");
  REQUIRE(v);
  auto n = readNumberReply(*v);
  REQUIRE(n);
  CHECK_EQ(n->number, 42);
  CHECK_EQ(n->message, std::string("On your phone, pick 42 to approve this sign-in."));
  // No message: one is made up; a final reply, a non-integer or out-of-range number: not interim.
  auto bare = parseJson(R"({"id":5,"result":"number","number":7})");
  const auto bareShown = readNumberReply(*bare);
  REQUIRE(bareShown);
  CHECK_EQ(bareShown->message, std::string("On your phone, pick 7."));
  for (const char* s : {R"({"id":5,"result":"approved"})", R"({"id":5,"result":"number","number":"42"})", R"({"id":5,"result":"number","number":100000})",
                        R"({"id":5,"result":"number"})"}) {
    auto x = parseJson(s);
    REQUIRE(x);
    CHECK(!readNumberReply(*x));
  }
  // An interim reply is never a final answer: read as one, it is an error, never an approval.
  CHECK(readAuthenticateReply(*v).result == AuthResult::Error);
}

TEST(messages_authenticate_enforced_field) {
  AuthenticateRequest r;
  r.username = "alice";
  r.domain = "CORP";
  r.workstation = "PC-7";
  r.scenario = Scenario::Unlock;
  // Absent: the field is not sent at all (what protocol v1 senders always did).
  CHECK(buildAuthenticateRequest(1, r).find("enforced") == std::string::npos);
  r.enforced = true;
  CHECK_EQ(buildAuthenticateRequest(2, r),
           std::string(R"({"id":2,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"unlock","enforced":true})"));
  r.enforced = false;
  r.code = "123456";
  CHECK_EQ(buildAuthenticateRequest(3, r),
           std::string(R"({"id":3,"op":"authenticate","username":"alice","domain":"CORP","workstation":"PC-7","scenario":"unlock","code":"123456","enforced":false})"));
  // A JSON boolean, not a string or a number.
  auto v = parseJson(buildAuthenticateRequest(4, r));
  REQUIRE(v);
  const JsonValue* e = v->get("enforced");
  REQUIRE(e != nullptr);
  CHECK(e->isBool());
  CHECK(!e->asBool());
  r.enforced.reset();
  auto w = parseJson(buildAuthenticateRequest(5, r));
  REQUIRE(w);
  CHECK(w->get("enforced") == nullptr);
}

TEST(messages_scenarios) {
  for (Scenario s : {Scenario::Logon, Scenario::Unlock, Scenario::Rdp, Scenario::CredUI}) CHECK(parseScenario(scenarioName(s)) == s);
  CHECK_EQ(std::string(scenarioName(Scenario::CredUI)), std::string("credui"));
  CHECK(!parseScenario("LOGON"));
  CHECK(!parseScenario(""));
}

TEST(messages_parse_reply) {
  Reply r;
  std::string err;
  CHECK(parseReply(R"({"id":7,"status":"ok","message":"fine"})", r, &err));
  CHECK(r.id && *r.id == 7);
  CHECK(parseReply(R"({"error":"frame too long"})", r, &err));
  CHECK(!r.id);
  CHECK(parseReply(R"({"id":null,"result":"error"})", r, &err));
  CHECK(!r.id);
  CHECK(!parseReply(R"({"id":"7"})", r, &err));
  CHECK(!parseReply(R"({"id":1.5})", r, &err));
  CHECK(!parseReply(R"([1,2])", r, &err));
  CHECK(!parseReply("not json", r, &err));
  CHECK(err.find("not JSON") != std::string::npos);
}

TEST(messages_health_reply) {
  auto body = [](const char* s) { return *parseJson(s); };
  CHECK(readHealthReply(body(R"({"id":1,"status":"ok"})")).status == HealthStatus::Ok);
  CHECK(readHealthReply(body(R"({"id":1,"status":"api_unreachable"})")).status == HealthStatus::ApiUnreachable);
  CHECK(readHealthReply(body(R"({"id":1,"status":"api_timeout"})")).status == HealthStatus::ApiTimeout);
  auto e = readHealthReply(body(R"({"id":1,"status":"error","message":"disk full"})"));
  CHECK(e.status == HealthStatus::Error);
  CHECK_EQ(e.message, std::string("disk full"));
  auto u = readHealthReply(body(R"({"id":1,"status":"OK"})"));
  CHECK(u.status == HealthStatus::Error);
  CHECK(u.message.find("OK") != std::string::npos);
  CHECK(readHealthReply(body(R"({"id":1})")).status == HealthStatus::Error);
  CHECK(readHealthReply(body(R"({"id":1,"status":1})")).status == HealthStatus::Error);
}

TEST(messages_authenticate_reply) {
  auto read = [](const char* s) { return readAuthenticateReply(*parseJson(s)); };
  CHECK(read(R"({"id":2,"result":"approved"})").result == AuthResult::Approved);
  CHECK(read(R"({"id":2,"result":"denied","message":"no"})").result == AuthResult::Denied);
  CHECK(read(R"({"id":2,"result":"expired"})").result == AuthResult::Expired);
  CHECK(read(R"({"id":2,"result":"unknown_user"})").result == AuthResult::UnknownUser);
  CHECK(read(R"({"id":2,"result":"code_required","message":"Enter the code"})").result == AuthResult::CodeRequired);
  CHECK(read(R"({"id":2,"result":"locked"})").result == AuthResult::Locked);
  CHECK(read(R"({"id":2,"result":"error"})").result == AuthResult::Error);
  // Only the exact string approves.
  CHECK(read(R"({"id":2,"result":"Approved"})").result == AuthResult::Error);
  CHECK(read(R"({"id":2,"result":true})").result == AuthResult::Error);
  CHECK(read(R"({"id":2,"approved":true})").result == AuthResult::Error);
  CHECK_EQ(read(R"({"id":2,"result":"denied","message":"Denied on the phone"})").message, std::string("Denied on the phone"));
}
