// gatehouse-pipe-client: talks protocol v1 to a Gatehouse pipe endpoint, for tests and diagnosis.
//
//   gatehouse-pipe-client --socket PATH [--timeout-ms N] health
//   gatehouse-pipe-client --socket PATH [--timeout-ms N] status
//   gatehouse-pipe-client --socket PATH [--timeout-ms N] authenticate --user U --domain D
//       --workstation W --scenario logon|unlock|rdp|credui [--code C] [--enforced true|false]
//       [--number-matching]
//   gatehouse-pipe-client --socket PATH [--timeout-ms N] batch   < requests (one JSON object a line)
//
// health / authenticate print the reply as one line of JSON (authenticate --number-matching: each
// interim "number" reply too, on its own line, as it arrives, before the final one). status runs one health check through
// the credential provider's status machine and prints the line the logon screen would show.
// batch sends every request on one connection before reading any reply (ids 1..n are added), then
// prints the replies in request order, one a line.
// On Windows --pipe is the same as --socket (default \\.\pipe\gatehouse) and --server-sid SID
// checks the account serving the pipe.
//
// Exit: 0 reply printed (status: the service is OK), 1 status other than OK, 2 cannot connect,
// 3 no reply in time or a broken reply / closed connection, 64 usage error.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "gatehouse/client.h"
#include "gatehouse/status.h"

using namespace gatehouse;

namespace {

constexpr int kExitNotOk = 1;
constexpr int kExitConnect = 2;
constexpr int kExitNoReply = 3;
constexpr int kExitUsage = 64;

const char* kUsage =
    "usage: gatehouse-pipe-client --socket PATH [--timeout-ms N] health|status|batch\n"
    "       gatehouse-pipe-client --socket PATH [--timeout-ms N] authenticate --user U --domain D --workstation W\n"
    "           --scenario logon|unlock|rdp|credui [--code C] [--enforced true|false] [--number-matching]\n";

int usage(const std::string& why) {
  std::cerr << "gatehouse-pipe-client: " << why << "\n" << kUsage;
  return kExitUsage;
}

int report(const RawCall& call, const std::string& path) {
  if (call.status == CallStatus::Ok) {
    std::cout << toJson(call.reply.body) << std::endl;
    return 0;
  }
  if (call.status == CallStatus::Unreachable) {
    std::cerr << "gatehouse-pipe-client: " << (call.error.empty() ? "cannot connect to " + path : call.error) << std::endl;
    return kExitConnect;
  }
  std::cerr << "gatehouse-pipe-client: " << (call.status == CallStatus::Timeout ? "no reply: " : "") << call.error << std::endl;
  return kExitNoReply;
}

int batch(const EndpointOptions& ep, Deadline deadline) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back(line);
  }
  ConnectResult c = connectEndpoint(ep.path, deadline, ep.connect);
  if (c.status != ConnectStatus::Ok) {
    std::cerr << "gatehouse-pipe-client: " << c.error << std::endl;
    return c.status == ConnectStatus::Untrusted ? kExitNoReply : kExitConnect;
  }
  PipeClient client(std::move(c.transport));
  std::vector<std::int64_t> ids;
  for (const std::string& l : lines) {
    std::string err;
    auto v = parseJson(l, &err);
    if (!v || !v->isObject()) return usage("batch line is not a JSON object: " + (v ? std::string("not an object") : err));
    const std::int64_t id = client.nextId();
    JsonValue req = JsonValue::object({{"id", JsonValue::integer(id)}});
    for (const auto& m : v->members()) {
      if (m.first != "id") req.set(m.first, m.second);
    }
    const IoResult w = client.send(toJson(req), deadline);
    if (w.status != IoStatus::Ok) {
      std::cerr << "gatehouse-pipe-client: sending request " << id << ": " << w.error << std::endl;
      return kExitNoReply;
    }
    ids.push_back(id);
  }
  for (std::int64_t id : ids) {
    auto r = client.wait(id, deadline);
    if (r.status != PipeClient::WaitStatus::Ok) {
      std::cerr << "gatehouse-pipe-client: reply " << id << ": " << r.error << std::endl;
      return kExitNoReply;
    }
    std::cout << toJson(r.reply.body) << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  EndpointOptions ep;
  long timeoutMs = -1;
  std::string command;
  AuthenticateRequest auth;
  bool haveUser = false, haveDomain = false, haveWorkstation = false, haveScenario = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--socket" || a == "--pipe") {
      if (!value(ep.path)) return usage(a + " needs a path");
    } else if (a == "--timeout-ms") {
      if (!value(v)) return usage("--timeout-ms needs a number");
      char* end = nullptr;
      timeoutMs = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || timeoutMs <= 0) return usage("--timeout-ms must be a positive number of milliseconds");
    } else if (a == "--server-sid") {
      if (!value(ep.connect.requiredServerSid)) return usage("--server-sid needs a SID");
    } else if (a == "--user") {
      if (!value(auth.username)) return usage("--user needs a value");
      haveUser = true;
    } else if (a == "--domain") {
      if (!value(auth.domain)) return usage("--domain needs a value");
      haveDomain = true;
    } else if (a == "--workstation") {
      if (!value(auth.workstation)) return usage("--workstation needs a value");
      haveWorkstation = true;
    } else if (a == "--scenario") {
      if (!value(v)) return usage("--scenario needs a value");
      auto s = parseScenario(v);
      if (!s) return usage("--scenario must be logon, unlock, rdp or credui, not \"" + v + "\"");
      auth.scenario = *s;
      haveScenario = true;
    } else if (a == "--code") {
      if (!value(v)) return usage("--code needs a value");
      auth.code = v;
    } else if (a == "--enforced") {
      if (!value(v) || (v != "true" && v != "false")) return usage("--enforced needs true or false");
      auth.enforced = v == "true";
    } else if (a == "--number-matching") {
      auth.numberMatching = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown option " + a);
    } else if (command.empty()) {
      command = a;
    } else {
      return usage("unexpected argument " + a);
    }
  }
  if (command.empty()) return usage("no command given");
  if (ep.path.empty()) return usage("--socket PATH is required");
  if (timeoutMs < 0) timeoutMs = command == "authenticate" || command == "batch" ? 120000 : 10000;
  const Deadline deadline = deadlineIn(std::chrono::milliseconds(timeoutMs));

  if (command == "health") return report(callOnce(ep, buildHealthRequest, deadline), ep.path);
  if (command == "authenticate") {
    if (!haveUser || !haveDomain || !haveWorkstation || !haveScenario)
      return usage("authenticate needs --user, --domain, --workstation and --scenario");
    const auto interim = [](const Reply& r) { std::cout << toJson(r.body) << std::endl; };
    return report(callOnce(ep, [&](std::int64_t id) { return buildAuthenticateRequest(id, auth); }, deadline, interim), ep.path);
  }
  if (command == "status") {
    SteadyTimeSource clock;
    StatusMonitor monitor(clock, [&] { return healthOutcome(callHealth(ep, deadline)); });
    monitor.checkNow();
    std::cout << monitor.text() << std::endl;
    return monitor.last().state == ServiceState::Ok ? 0 : kExitNotOk;
  }
  if (command == "batch") return batch(ep, deadline);
  return usage("unknown command " + command);
}
