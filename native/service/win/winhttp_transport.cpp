#include "winhttp_transport.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <wincrypt.h>
#include <winhttp.h>

#include <cstring>

#include "win_text.h"

namespace gatehouse::service {

struct WinHttpTransport::Impl {
  ServiceConfig config;
  std::string token;
  std::vector<std::string> caDer;
  HINTERNET session = nullptr;
  HINTERNET connection = nullptr;
};

namespace {

/// Resolving the name and connecting, at most (the answer itself may take the request timeout).
constexpr int kConnectTimeoutMs = 10'000;

struct Handle {
  HINTERNET h = nullptr;
  ~Handle() {
    if (h != nullptr) WinHttpCloseHandle(h);
  }
};

std::string sha256Hex(const BYTE* data, DWORD size) {
  BYTE hash[32];
  DWORD len = sizeof hash;
  if (!CryptHashCertificate2(BCRYPT_SHA256_ALGORITHM, 0, nullptr, data, size, hash, &len)) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (DWORD i = 0; i < len; ++i) {
    out += hex[hash[i] >> 4];
    out += hex[hash[i] & 15];
  }
  return out;
}

/// The appliance's certificate against the pin: its fingerprint, or the CA file (the same
/// certificate, or one whose key signed it). Empty when it passes, else why not.
std::string checkPinned(HINTERNET request, const ServiceConfig& config, const std::vector<std::string>& caDer) {
  PCCERT_CONTEXT cert = nullptr;
  DWORD size = sizeof cert;
  if (!WinHttpQueryOption(request, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size) || cert == nullptr) return "no server certificate to check";
  std::string why;
  if (!config.certSha256.empty()) {
    if (sha256Hex(cert->pbCertEncoded, cert->cbCertEncoded) != config.certSha256) why = "the appliance's certificate does not have the pinned SHA-256 fingerprint";
  } else if (!caDer.empty()) {
    why = "the appliance's certificate is not from the configured CA";
    if (CertVerifyTimeValidity(nullptr, cert->pCertInfo) != 0) {
      why = "the appliance's certificate is expired or not yet valid";
    } else {
      for (const auto& der : caDer) {
        if (der.size() == cert->cbCertEncoded && std::memcmp(der.data(), cert->pbCertEncoded, der.size()) == 0) {
          why.clear();
          break;
        }
        PCCERT_CONTEXT ca = CertCreateCertificateContext(X509_ASN_ENCODING, reinterpret_cast<const BYTE*>(der.data()), static_cast<DWORD>(der.size()));
        if (ca == nullptr) continue;
        const bool issuer = CertCompareCertificateName(X509_ASN_ENCODING, &cert->pCertInfo->Issuer, &ca->pCertInfo->Subject) != FALSE;
        const bool signedBy = issuer && CryptVerifyCertificateSignatureEx(0, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT, const_cast<CERT_CONTEXT*>(cert), CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT, const_cast<CERT_CONTEXT*>(ca), 0, nullptr) != FALSE;
        CertFreeCertificateContext(ca);
        if (signedBy) {
          why.clear();
          break;
        }
      }
    }
  }
  CertFreeCertificateContext(cert);
  return why;
}

AgentAnswer failure(DWORD code, const char* what) {
  AgentAnswer a;
  a.detail = windowsError(what, code);
  switch (code) {
    case ERROR_WINHTTP_TIMEOUT:
      a.kind = AgentAnswer::Kind::Timeout;
      break;
    case ERROR_WINHTTP_CANNOT_CONNECT:
    case ERROR_WINHTTP_NAME_NOT_RESOLVED:
    case ERROR_WINHTTP_CONNECTION_ERROR:
    case ERROR_WINHTTP_SECURE_FAILURE:
    case ERROR_WINHTTP_CANNOT_CALL_AFTER_OPEN:
      a.kind = AgentAnswer::Kind::Unreachable;
      break;
    default:
      a.kind = AgentAnswer::Kind::Unreachable;
  }
  return a;
}

}  // namespace

std::vector<std::string> pemCertificates(const std::string& pem) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN CERTIFICATE-----";
  const std::string end = "-----END CERTIFICATE-----";
  std::size_t at = 0;
  while ((at = pem.find(begin, at)) != std::string::npos) {
    const std::size_t stop = pem.find(end, at);
    if (stop == std::string::npos) break;
    const std::string block = pem.substr(at, stop + end.size() - at);
    DWORD size = 0;
    if (CryptStringToBinaryA(block.c_str(), static_cast<DWORD>(block.size()), CRYPT_STRING_BASE64HEADER, nullptr, &size, nullptr, nullptr) && size > 0) {
      std::string der(size, '\0');
      if (CryptStringToBinaryA(block.c_str(), static_cast<DWORD>(block.size()), CRYPT_STRING_BASE64HEADER, reinterpret_cast<BYTE*>(der.data()), &size, nullptr, nullptr)) {
        der.resize(size);
        out.push_back(std::move(der));
      }
    }
    at = stop + end.size();
  }
  return out;
}

WinHttpTransport::WinHttpTransport(const ServiceConfig& config, std::string token, std::vector<std::string> caDer) : impl_(new Impl{config, std::move(token), std::move(caDer)}) {
  impl_->session = WinHttpOpen(L"Gatehouse-Service/1", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (impl_->session == nullptr) impl_->session = WinHttpOpen(L"Gatehouse-Service/1", WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (impl_->session != nullptr) {
    // TLS 1.2 and 1.3 only.
    DWORD protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | 0x00002000 /* WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3 */;
    if (!WinHttpSetOption(impl_->session, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof protocols)) {
      protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2;
      WinHttpSetOption(impl_->session, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof protocols);
    }
    impl_->connection = WinHttpConnect(impl_->session, wide(config.host).c_str(), static_cast<INTERNET_PORT>(config.port), 0);
  }
}

WinHttpTransport::~WinHttpTransport() {
  if (impl_->connection != nullptr) WinHttpCloseHandle(impl_->connection);
  if (impl_->session != nullptr) WinHttpCloseHandle(impl_->session);
}

AgentAnswer WinHttpTransport::get(const std::string& path, int timeoutMs) { return call(L"GET", path, nullptr, timeoutMs, nullptr); }

AgentAnswer WinHttpTransport::post(const std::string& path, const std::string& jsonBody, int timeoutMs, const std::function<void(std::string_view)>& onChunk) {
  return call(L"POST", path, &jsonBody, timeoutMs, &onChunk);
}

AgentAnswer WinHttpTransport::call(const wchar_t* method, const std::string& path, const std::string* body, int timeoutMs, const std::function<void(std::string_view)>* onChunk) {
  if (impl_->connection == nullptr) return failure(GetLastError(), "WinHttpConnect");
  const std::wstring target = wide(impl_->config.basePath + "api/v1/agent/" + path);
  Handle request{WinHttpOpenRequest(impl_->connection, method, target.c_str(), nullptr, WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE)};
  if (request.h == nullptr) return failure(GetLastError(), "WinHttpOpenRequest");
  // Name resolution and connecting are bounded apart from the answer: an appliance out of reach
  // (a laptop off the network, where offline logon takes over) is known within seconds, while
  // an answer may wait for the person to decide on the phone.
  const int connectMs = timeoutMs < kConnectTimeoutMs ? timeoutMs : kConnectTimeoutMs;
  WinHttpSetTimeouts(request.h, connectMs, connectMs, timeoutMs, timeoutMs);
  // Never follow a redirect: the token must not go anywhere else.
  DWORD noRedirect = WINHTTP_DISABLE_REDIRECTS;
  WinHttpSetOption(request.h, WINHTTP_OPTION_DISABLE_FEATURE, &noRedirect, sizeof noRedirect);
  const bool pinned = !impl_->config.certSha256.empty() || !impl_->caDer.empty();
  if (pinned) {
    // The chain is checked below against the pin instead of the machine's roots; the host name
    // is still checked by WinHTTP.
    DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
    WinHttpSetOption(request.h, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags);
  }
  std::wstring headers = L"Authorization: Bearer " + wide(impl_->token) + L"\r\nAccept: application/json, application/x-ndjson\r\n";
  if (body != nullptr) headers += L"Content-Type: application/json\r\n";
  const BOOL sent = WinHttpSendRequest(request.h, headers.c_str(), static_cast<DWORD>(-1L), body != nullptr ? const_cast<char*>(body->data()) : WINHTTP_NO_REQUEST_DATA,
                                       body != nullptr ? static_cast<DWORD>(body->size()) : 0, body != nullptr ? static_cast<DWORD>(body->size()) : 0, 0);
  // Wipe the header copy that held the token.
  SecureZeroMemory(headers.data(), headers.size() * sizeof(wchar_t));
  if (!sent) return failure(GetLastError(), "WinHttpSendRequest");
  if (!WinHttpReceiveResponse(request.h, nullptr)) return failure(GetLastError(), "WinHttpReceiveResponse");
  if (pinned) {
    const std::string why = checkPinned(request.h, impl_->config, impl_->caDer);
    if (!why.empty()) {
      AgentAnswer a;
      a.kind = AgentAnswer::Kind::Unreachable;
      a.detail = why;
      return a;
    }
  }
  AgentAnswer a;
  a.kind = AgentAnswer::Kind::Ok;
  DWORD status = 0;
  DWORD size = sizeof status;
  WinHttpQueryHeaders(request.h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX);
  a.httpStatus = static_cast<int>(status);
  wchar_t type[256] = {0};
  DWORD typeSize = sizeof type;
  if (WinHttpQueryHeaders(request.h, WINHTTP_QUERY_CONTENT_TYPE, WINHTTP_HEADER_NAME_BY_INDEX, type, &typeSize, WINHTTP_NO_HEADER_INDEX)) a.contentType = narrow(type);
  if (status == 401) {
    a.kind = AgentAnswer::Kind::Refused;
    return a;
  }
  // The body, streamed (an answer with number matching sends its number long before the verdict).
  for (;;) {
    DWORD available = 0;
    if (!WinHttpQueryDataAvailable(request.h, &available)) return failure(GetLastError(), "WinHttpQueryDataAvailable");
    if (available == 0) break;
    // Offline codes for 14 days are about 1.7 MB of base64; nothing else comes near it.
    if (a.body.size() + available > 4 * 1024 * 1024) {
      a.kind = AgentAnswer::Kind::Error;
      a.detail = "answer too long";
      return a;
    }
    std::string chunk(available, '\0');
    DWORD read = 0;
    if (!WinHttpReadData(request.h, chunk.data(), available, &read)) return failure(GetLastError(), "WinHttpReadData");
    chunk.resize(read);
    a.body += chunk;
    if (onChunk != nullptr && *onChunk) (*onChunk)(chunk);
  }
  return a;
}

}  // namespace gatehouse::service
