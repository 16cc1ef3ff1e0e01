// The HTTPS leg to the appliance's agent API over WinHTTP (no OpenSSL, no Node on workstations).
// The token goes in an Authorization header, never in a URL or a log. The appliance's certificate
// is checked by Windows against the machine's roots, or, when configured, pinned: against the CA
// file (the appliance's own certificate or the CA that issued it) or a SHA-256 fingerprint.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "service_config.h"
#include "service_core.h"

namespace gatehouse::service {

class WinHttpTransport final : public AgentTransport {
 public:
  /// `caDer`: the certificates of the CA file, decoded (empty: the machine's roots decide).
  WinHttpTransport(const ServiceConfig& config, std::string token, std::vector<std::string> caDer);
  ~WinHttpTransport() override;
  AgentAnswer get(const std::string& path, int timeoutMs) override;
  AgentAnswer post(const std::string& path, const std::string& jsonBody, int timeoutMs, const std::function<void(std::string_view)>& onChunk) override;

 private:
  AgentAnswer call(const wchar_t* method, const std::string& path, const std::string* body, int timeoutMs, const std::function<void(std::string_view)>* onChunk);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The DER certificates of a PEM file's text (every CERTIFICATE block).
std::vector<std::string> pemCertificates(const std::string& pem);

}  // namespace gatehouse::service
