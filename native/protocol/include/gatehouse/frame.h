// Framing of the Windows logon pipe protocol, version 1 (DESIGN.md): each message, both ways, is a
// 4-byte little-endian unsigned length N with 1 <= N <= 65536, then N bytes of UTF-8 JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse {

constexpr std::size_t kFrameHeaderSize = 4;
constexpr std::size_t kMaxFrameLength = 65536;

/// Appends one frame carrying `payload` to `out`. Returns false (and appends nothing) when the
/// payload is empty or longer than kMaxFrameLength; `error` then says which.
bool encodeFrame(std::string_view payload, std::string& out, std::string* error = nullptr);

/// Splits a byte stream into frame payloads. Bytes may arrive in any pieces (one byte at a time,
/// several frames at once); a header announcing 0 or more than 65536 bytes is an error at once,
/// without waiting for a body that would never be read. After an error the decoder stays failed.
class FrameDecoder {
 public:
  enum class Status { NeedMore, Frame, Error };

  void feed(const void* data, std::size_t size);
  /// Takes the next complete payload into `payload`.
  Status next(std::string& payload);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  /// Bytes received but not yet returned as a frame: non-zero at end of stream means a truncated
  /// frame.
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
  std::string error_;
};

}  // namespace gatehouse
