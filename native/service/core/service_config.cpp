#include "service_config.h"

#include <cctype>

namespace gatehouse::service {

namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0;
  std::size_t b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::optional<std::string> value(const std::map<std::string, std::string>& values, const char* name) {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  std::string v = trim(it->second);
  if (v.empty()) return std::nullopt;
  return v;
}

bool parseInt(const std::string& s, int min, int max, int& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const long v = std::stol(s);
  if (v < min || v > max) return false;
  out = static_cast<int>(v);
  return true;
}

bool parseBool(const std::string& s, bool& out) {
  if (s == "1" || s == "true" || s == "yes") return out = true, true;
  if (s == "0" || s == "false" || s == "no") return out = false, true;
  return false;
}

}  // namespace

ConfigResult readConfig(const std::map<std::string, std::string>& values) {
  ConfigResult r;
  ServiceConfig c;
  const auto url = value(values, "ApplianceUrl");
  if (!url) return {std::nullopt, "ApplianceUrl: not set (https://gatehouse.corp.example/)"};
  if (url->rfind("https://", 0) != 0) return {std::nullopt, "ApplianceUrl: must start with https:// (the token and every logon cross it)"};
  std::string rest = url->substr(8);
  const std::size_t slash = rest.find('/');
  std::string authority = slash == std::string::npos ? rest : rest.substr(0, slash);
  c.basePath = slash == std::string::npos ? "/" : rest.substr(slash);
  if (c.basePath.back() != '/') c.basePath += '/';
  if (c.basePath.find_first_of("?#") != std::string::npos) return {std::nullopt, "ApplianceUrl: must not have a query or fragment"};
  if (authority.empty() || authority.find('@') != std::string::npos) return {std::nullopt, "ApplianceUrl: must name a host (and no user)"};
  std::string hostPart = authority;
  std::string portPart;
  if (authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) return {std::nullopt, "ApplianceUrl: unclosed [ in an IPv6 address"};
    hostPart = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return {std::nullopt, "ApplianceUrl: bad port"};
      portPart = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string::npos) {
      hostPart = authority.substr(0, colon);
      portPart = authority.substr(colon + 1);
    }
  }
  for (char ch : hostPart) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' || ch == '_')) return {std::nullopt, "ApplianceUrl: the host is not a name or an address"};
  }
  if (hostPart.empty()) return {std::nullopt, "ApplianceUrl: must name a host (and no user)"};
  if (!portPart.empty() && !parseInt(portPart, 1, 65535, c.port)) return {std::nullopt, "ApplianceUrl: bad port"};
  c.host = hostPart;
  c.applianceUrl = *url;
  if (auto v = value(values, "TokenFile")) c.tokenFile = *v;
  if (auto v = value(values, "CaFile")) c.caFile = *v;
  if (auto v = value(values, "CertSha256")) {
    c.certSha256 = normalizeSha256(*v);
    if (c.certSha256.empty()) return {std::nullopt, "CertSha256: not a SHA-256 fingerprint (64 hex digits, colons allowed)"};
  }
  if (auto v = value(values, "PipeName")) {
    for (char ch : *v) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) return {std::nullopt, "PipeName: letters, digits, - _ . only (the name after \\\\.\\pipe\\)"};
    }
    if (v->size() > 200) return {std::nullopt, "PipeName: too long"};
    c.pipeName = *v;
  }
  if (auto v = value(values, "AllowInteractiveUser")) {
    if (!parseBool(*v, c.allowInteractiveUser)) return {std::nullopt, "AllowInteractiveUser: 0 or 1"};
  }
  if (auto v = value(values, "OfflineLogon")) {
    if (!parseBool(*v, c.offlineLogon)) return {std::nullopt, "OfflineLogon: 0 or 1"};
  }
  if (auto v = value(values, "OfflineStateFile")) c.offlineStateFile = *v;
  if (auto v = value(values, "MaxConnectionsPerProcess")) {
    if (!parseInt(*v, 1, 64, c.maxConnectionsPerProcess)) return {std::nullopt, "MaxConnectionsPerProcess: a number from 1 to 64"};
  }
  if (auto v = value(values, "MaxConnections")) {
    if (!parseInt(*v, 1, 1024, c.maxConnections)) return {std::nullopt, "MaxConnections: a number from 1 to 1024"};
  }
  if (auto v = value(values, "HealthTimeoutSeconds")) {
    int s = 0;
    if (!parseInt(*v, 1, 300, s)) return {std::nullopt, "HealthTimeoutSeconds: a number from 1 to 300"};
    c.healthTimeoutMs = s * 1000;
  }
  if (auto v = value(values, "RequestTimeoutSeconds")) {
    int s = 0;
    if (!parseInt(*v, 5, 3600, s)) return {std::nullopt, "RequestTimeoutSeconds: a number from 5 to 3600"};
    c.requestTimeoutMs = s * 1000;
  }
  r.config = c;
  return r;
}

std::string pipeSddl(bool allowInteractiveUser) {
  // D:P = a protected DACL; (A;;GA;;;SY) = SYSTEM: generic all; (A;;GRGW;;;IU) = interactive
  // user: read and write. No ACE for Everyone (WD), Anonymous (AN) or the network (NU).
  std::string sddl = "D:P(A;;GA;;;SY)";
  if (allowInteractiveUser) sddl += "(A;;GRGW;;;IU)";
  return sddl;
}

bool ConnectionLimiter::acquire(std::uint32_t pid) {
  if (open_ >= total_) return false;
  int& mine = byPid_[pid];
  if (mine >= perProcess_) {
    if (mine == 0) byPid_.erase(pid);
    return false;
  }
  ++mine;
  ++open_;
  return true;
}

void ConnectionLimiter::release(std::uint32_t pid) {
  auto it = byPid_.find(pid);
  if (it == byPid_.end()) return;
  if (--it->second <= 0) byPid_.erase(it);
  --open_;
}

int ConnectionLimiter::openFor(std::uint32_t pid) const {
  auto it = byPid_.find(pid);
  return it == byPid_.end() ? 0 : it->second;
}

std::string cleanToken(const std::string& raw) {
  std::string t = trim(raw);
  if (t.size() < 16 || t.size() > 512) return "";
  for (unsigned char ch : t) {
    if (ch < 0x21 || ch > 0x7E) return "";
  }
  return t;
}

std::string normalizeSha256(const std::string& raw) {
  std::string out;
  for (char ch : raw) {
    if (ch == ':' || ch == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out.size() == 64 ? out : "";
}

}  // namespace gatehouse::service
