// The client over an in-memory transport and over real Unix sockets; the status machine with a
// fake clock.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "gatehouse/client.h"
#include "gatehouse/status.h"
#include "test.h"

using namespace gatehouse;
using namespace std::chrono_literals;

namespace {

/// Hands out scripted chunks on read(); records what was written.
class ScriptedTransport : public Transport {
 public:
  std::deque<std::string> chunks;
  bool closeAtEnd = true;
  std::string written;

  IoResult write(const char* data, std::size_t size, Deadline) override {
    written.append(data, size);
    IoResult r;
    r.bytes = size;
    return r;
  }
  IoResult read(char* buffer, std::size_t capacity, Deadline) override {
    IoResult r;
    if (chunks.empty()) {
      r.status = closeAtEnd ? IoStatus::Closed : IoStatus::Timeout;
      return r;
    }
    std::string& c = chunks.front();
    const std::size_t n = std::min(capacity, c.size());
    std::memcpy(buffer, c.data(), n);
    c.erase(0, n);
    if (c.empty()) chunks.pop_front();
    r.bytes = n;
    return r;
  }
};

std::string frame(const std::string& payload) {
  std::string f;
  encodeFrame(payload, f);
  return f;
}

std::string tempSocketPath(const char* tag) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base ? base : "/tmp") + "/gh-native-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

int listenOn(const std::string& path) {
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Reads frames from `fd` until `count` arrived (or the peer closed).
std::vector<std::string> readFrames(int fd, std::size_t count) {
  FrameDecoder d;
  std::vector<std::string> out;
  char buf[4096];
  while (out.size() < count) {
    std::string p;
    if (d.next(p) == FrameDecoder::Status::Frame) {
      out.push_back(p);
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    d.feed(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class FakeClock : public TimeSource {
 public:
  std::chrono::milliseconds t{1000000};
  std::chrono::milliseconds now() const override { return t; }
};

}  // namespace

TEST(client_matches_replies_out_of_order_and_split) {
  auto t = std::make_unique<ScriptedTransport>();
  ScriptedTransport* raw = t.get();
  // Replies for 3, 1, 2 in one stream, delivered one byte at a time.
  const std::string stream = frame(R"({"id":3,"status":"ok"})") + frame(R"({"id":1,"result":"approved"})") + frame(R"({"id":2,"result":"denied"})");
  for (char c : stream) raw->chunks.emplace_back(1, c);
  PipeClient client(std::move(t));
  const auto id1 = client.nextId(), id2 = client.nextId(), id3 = client.nextId();
  CHECK_EQ(id1, std::int64_t(1));
  CHECK_EQ(id3, std::int64_t(3));
  CHECK(client.send(buildHealthRequest(id1), deadlineIn(1s)).status == IoStatus::Ok);
  auto r2 = client.wait(id2, deadlineIn(1s));
  REQUIRE(r2.status == PipeClient::WaitStatus::Ok);
  CHECK_EQ(r2.reply.body.getString("result").value_or(""), std::string("denied"));
  auto r1 = client.wait(id1, deadlineIn(1s));
  REQUIRE(r1.status == PipeClient::WaitStatus::Ok);
  CHECK_EQ(r1.reply.body.getString("result").value_or(""), std::string("approved"));
  auto r3 = client.wait(id3, deadlineIn(1s));
  REQUIRE(r3.status == PipeClient::WaitStatus::Ok);
  CHECK_EQ(r3.reply.body.getString("status").value_or(""), std::string("ok"));
  CHECK_EQ(raw->written, frame(R"({"id":1,"op":"health"})"));
}

TEST(client_interim_number_reply_goes_to_the_waiter_and_the_wait_goes_on) {
  auto t = std::make_unique<ScriptedTransport>();
  ScriptedTransport* raw = t.get();
  // An interim reply for another id (dropped), one for ours, then the final replies.
  raw->chunks.push_back(frame(R"({"id":2,"result":"number","number":11,"message":"x"})") + frame(R"({"id":1,"result":"number","number":42,"message":"pick 42"})") +
                        frame(R"({"id":2,"result":"denied"})") + frame(R"({"id":1,"result":"approved"})"));
  PipeClient client(std::move(t));
  std::vector<int> seen;
  auto r1 = client.wait(1, deadlineIn(1s), [&](const Reply& r) { seen.push_back(readNumberReply(r.body)->number); });
  REQUIRE(r1.status == PipeClient::WaitStatus::Ok);
  CHECK_EQ(r1.reply.body.getString("result").value_or(""), std::string("approved"));
  CHECK(seen == std::vector<int>{42});
  auto r2 = client.wait(2, deadlineIn(1s));
  REQUIRE(r2.status == PipeClient::WaitStatus::Ok);
  CHECK_EQ(r2.reply.body.getString("result").value_or(""), std::string("denied"));
  // A connection that closes after the interim reply: no final answer, never an approval.
  auto t2 = std::make_unique<ScriptedTransport>();
  t2->chunks.push_back(frame(R"({"id":1,"result":"number","number":42})"));
  PipeClient c2(std::move(t2));
  CHECK(c2.wait(1, deadlineIn(1s), [](const Reply&) {}).status == PipeClient::WaitStatus::Closed);
}

TEST(client_error_reply_without_id_breaks_connection) {
  auto t = std::make_unique<ScriptedTransport>();
  t->chunks.push_back(frame(R"({"id":null,"result":"error","message":"frame too long"})"));
  PipeClient client(std::move(t));
  auto r = client.wait(1, deadlineIn(1s));
  CHECK(r.status == PipeClient::WaitStatus::ProtocolError);
  CHECK(r.error.find("frame too long") != std::string::npos);
  CHECK(client.broken());
  CHECK(client.send(buildHealthRequest(2), deadlineIn(1s)).status == IoStatus::Error);
}

TEST(client_closed_mid_frame_and_bad_frames) {
  {
    auto t = std::make_unique<ScriptedTransport>();
    t->chunks.push_back(frame(R"({"id":1,"status":"ok"})").substr(0, 9));
    PipeClient client(std::move(t));
    auto r = client.wait(1, deadlineIn(1s));
    CHECK(r.status == PipeClient::WaitStatus::Closed);
    CHECK(r.error.find("middle of a frame") != std::string::npos);
  }
  {
    auto t = std::make_unique<ScriptedTransport>();
    t->chunks.push_back(std::string("\x01\x00\x01\x00", 4));  // 65537
    PipeClient client(std::move(t));
    CHECK(client.wait(1, deadlineIn(1s)).status == PipeClient::WaitStatus::ProtocolError);
  }
  {
    auto t = std::make_unique<ScriptedTransport>();
    t->chunks.push_back(frame("not json"));
    PipeClient client(std::move(t));
    auto r = client.wait(1, deadlineIn(1s));
    CHECK(r.status == PipeClient::WaitStatus::ProtocolError);
    CHECK(r.error.find("not JSON") != std::string::npos);
  }
  {
    auto t = std::make_unique<ScriptedTransport>();
    t->closeAtEnd = false;
    PipeClient client(std::move(t));
    CHECK(client.wait(1, deadlineIn(1s)).status == PipeClient::WaitStatus::Timeout);
  }
}

TEST(client_refuses_to_send_oversized_request) {
  auto t = std::make_unique<ScriptedTransport>();
  ScriptedTransport* raw = t.get();
  PipeClient client(std::move(t));
  AuthenticateRequest big;
  big.username = std::string(70000, 'u');
  auto w = client.send(buildAuthenticateRequest(1, big), deadlineIn(1s));
  CHECK(w.status == IoStatus::Error);
  CHECK(raw->written.empty());
}

TEST(unix_socket_several_requests_in_flight) {
  const std::string path = tempSocketPath("multi");
  const int lfd = listenOn(path);
  REQUIRE(lfd >= 0);
  std::thread server([&] {
    const int c = ::accept(lfd, nullptr, nullptr);
    auto reqs = readFrames(c, 3);
    // Answer in reverse order, all in one write.
    std::string out;
    for (auto it = reqs.rbegin(); it != reqs.rend(); ++it) {
      auto v = parseJson(*it);
      const auto id = v ? v->getInteger("id").value_or(-1) : -1;
      const auto op = v ? v->getString("op").value_or("") : "";
      out += frame(op == "health" ? JsonObjectWriter().field("id", id).field("status", "ok").field("message", "").finish()
                                  : JsonObjectWriter().field("id", id).field("result", "code_required").field("message", "code?").finish());
    }
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    ::close(c);
  });
  auto c = connectUnixSocket(path, deadlineIn(2s));
  REQUIRE(c.status == ConnectStatus::Ok);
  PipeClient client(std::move(c.transport));
  AuthenticateRequest a{"bob", "CORP", "PC-1", Scenario::Unlock, std::nullopt};
  const auto h1 = client.nextId(), au = client.nextId(), h2 = client.nextId();
  client.send(buildHealthRequest(h1), deadlineIn(2s));
  client.send(buildAuthenticateRequest(au, a), deadlineIn(2s));
  client.send(buildHealthRequest(h2), deadlineIn(2s));
  auto ra = client.wait(au, deadlineIn(2s));
  auto r1 = client.wait(h1, deadlineIn(2s));
  auto r2 = client.wait(h2, deadlineIn(2s));
  server.join();
  ::close(lfd);
  ::unlink(path.c_str());
  REQUIRE(ra.status == PipeClient::WaitStatus::Ok);
  CHECK(readAuthenticateReply(ra.reply.body).result == AuthResult::CodeRequired);
  CHECK(r1.status == PipeClient::WaitStatus::Ok && readHealthReply(r1.reply.body).status == HealthStatus::Ok);
  CHECK(r2.status == PipeClient::WaitStatus::Ok && *r2.reply.id == h2);
}

TEST(unix_socket_missing_and_silent_endpoints) {
  EndpointOptions ep;
  ep.path = tempSocketPath("missing");
  ::unlink(ep.path.c_str());
  auto h = callHealth(ep, deadlineIn(1s));
  CHECK(h.status == CallStatus::Unreachable);
  CHECK_EQ(statusText(healthOutcome(h)), std::string(kStatusNoService));

  // Accepts, reads, never answers: the call gives up at its deadline.
  ep.path = tempSocketPath("silent");
  const int lfd = listenOn(ep.path);
  REQUIRE(lfd >= 0);
  std::atomic<bool> done{false};
  std::thread server([&] {
    const int c = ::accept(lfd, nullptr, nullptr);
    readFrames(c, 1);
    while (!done) std::this_thread::sleep_for(10ms);
    ::close(c);
  });
  const auto start = SteadyClock::now();
  auto t = callHealth(ep, deadlineIn(300ms));
  const auto took = SteadyClock::now() - start;
  done = true;
  server.join();
  ::close(lfd);
  ::unlink(ep.path.c_str());
  CHECK(t.status == CallStatus::Timeout);
  CHECK(took >= 250ms);
  CHECK(took < 2s);
  CHECK_EQ(statusText(healthOutcome(t)), std::string(kStatusNoService));
}

TEST(status_texts) {
  CHECK_EQ(statusText({ServiceState::Ok, ""}), std::string("Service Status: OK"));
  CHECK_EQ(statusText({ServiceState::NoService, "x"}), std::string("health-check request timed out. Is the background service running?"));
  CHECK_EQ(statusText({ServiceState::ApiUnreachable, ""}), std::string("service can not connect to API. Check network connectivity and API parameters."));
  CHECK_EQ(statusText({ServiceState::ApiTimeout, ""}), std::string("API call timed out."));
  CHECK_EQ(statusText({ServiceState::Error, "database locked"}), std::string("error (database locked)"));
  HealthCall c;
  c.status = CallStatus::Ok;
  c.reply.status = HealthStatus::ApiTimeout;
  CHECK(healthOutcome(c).state == ServiceState::ApiTimeout);
  c.reply.status = HealthStatus::Error;
  c.reply.message = "boom";
  CHECK_EQ(statusText(healthOutcome(c)), std::string("error (boom)"));
  c.status = CallStatus::Failed;
  c.error = "bad reply from the endpoint: reply is not JSON";
  CHECK_EQ(statusText(healthOutcome(c)), std::string("error (bad reply from the endpoint: reply is not JSON)"));
  c.error = "the endpoint closed the connection";
  CHECK(healthOutcome(c).state == ServiceState::NoService);
}

TEST(backoff_schedule) {
  using ms = std::chrono::milliseconds;
  CHECK_EQ(retryDelay(0).count(), ms(10000).count());
  const long long expected[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000};
  for (unsigned n = 1; n <= 8; ++n) CHECK_EQ(retryDelay(n).count(), expected[n - 1]);
  CHECK_EQ(retryDelay(1000).count(), ms(300000).count());
  BackoffPolicy p{ms(1000), ms(5000)};
  CHECK_EQ(retryDelay(3, p).count(), ms(4000).count());
  CHECK_EQ(retryDelay(4, p).count(), ms(5000).count());
}

TEST(status_monitor_schedule_with_fake_clock) {
  FakeClock clock;
  std::deque<ServiceState> script = {ServiceState::Ok,        ServiceState::Ok,       ServiceState::NoService, ServiceState::NoService,
                                     ServiceState::ApiTimeout, ServiceState::Error,    ServiceState::NoService, ServiceState::NoService,
                                     ServiceState::NoService,  ServiceState::Ok};
  int calls = 0;
  StatusMonitor m(clock, [&] {
    ++calls;
    const ServiceState s = script.front();
    script.pop_front();
    return HealthOutcome{s, s == ServiceState::Error ? "db" : ""};
  });
  CHECK_EQ(m.text(), std::string(kStatusChecking));
  CHECK(m.due());  // the first check runs at once
  CHECK(m.poll());
  CHECK_EQ(m.text(), std::string(kStatusOk));
  // Healthy: every 10 s, and not before.
  CHECK_EQ(m.nextCheckIn().count(), 10000);
  clock.t += std::chrono::milliseconds(9999);
  CHECK(!m.poll());
  clock.t += std::chrono::milliseconds(1);
  CHECK(m.poll());
  CHECK_EQ(m.nextCheckIn().count(), 10000);
  // Failures: 10, 20, 40, 80, 160, 300 s between checks.
  const long long gaps[] = {10000, 20000, 40000, 80000, 160000, 300000};
  const char* texts[] = {kStatusNoService, kStatusNoService, kStatusApiTimeout, "error (db)", kStatusNoService, kStatusNoService};
  for (int k = 0; k < 6; ++k) {
    clock.t += m.nextCheckIn();
    CHECK(m.poll());
    CHECK_EQ(m.text(), std::string(texts[k]));
    CHECK_EQ(m.failures(), unsigned(k + 1));
    CHECK_EQ(m.nextCheckIn().count(), gaps[k]);
    clock.t += m.nextCheckIn() - std::chrono::milliseconds(1);
    CHECK(!m.poll());
    clock.t += std::chrono::milliseconds(1);
  }
  CHECK(m.poll());  // 7th failure, still 300 s
  CHECK_EQ(m.nextCheckIn().count(), 300000);
  // One success resets to 10 s.
  clock.t += m.nextCheckIn();
  CHECK(m.poll());
  CHECK_EQ(m.text(), std::string(kStatusOk));
  CHECK_EQ(m.failures(), 0u);
  CHECK_EQ(m.nextCheckIn().count(), 10000);
  CHECK_EQ(calls, 10);
  // An outcome from elsewhere (an authenticate that could not connect) counts too.
  m.record({ServiceState::NoService, ""});
  CHECK_EQ(m.failures(), 1u);
  CHECK_EQ(m.text(), std::string(kStatusNoService));
}
