#include "gatehouse/frame.h"

namespace gatehouse {

bool encodeFrame(std::string_view payload, std::string& out, std::string* error) {
  if (payload.empty()) {
    if (error) *error = "frame payload is empty (length must be 1..65536)";
    return false;
  }
  if (payload.size() > kMaxFrameLength) {
    if (error) *error = "frame payload of " + std::to_string(payload.size()) + " bytes is longer than 65536";
    return false;
  }
  const auto n = static_cast<std::uint32_t>(payload.size());
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>((n >> 16) & 0xFF));
  out.push_back(static_cast<char>((n >> 24) & 0xFF));
  out.append(payload.data(), payload.size());
  return true;
}

void FrameDecoder::feed(const void* data, std::size_t size) {
  if (failed() || size == 0) return;
  // Drop what was consumed before growing, so a long-lived connection does not accumulate.
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > kMaxFrameLength) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(static_cast<const char*>(data), size);
}

FrameDecoder::Status FrameDecoder::next(std::string& payload) {
  if (failed()) return Status::Error;
  const std::size_t avail = buffer_.size() - offset_;
  if (avail < kFrameHeaderSize) return Status::NeedMore;
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + offset_);
  const std::uint32_t n = static_cast<std::uint32_t>(h[0]) | (static_cast<std::uint32_t>(h[1]) << 8) |
                          (static_cast<std::uint32_t>(h[2]) << 16) | (static_cast<std::uint32_t>(h[3]) << 24);
  if (n == 0) {
    error_ = "frame with zero length";
    return Status::Error;
  }
  if (n > kMaxFrameLength) {
    error_ = "frame length " + std::to_string(n) + " is over the limit of 65536";
    return Status::Error;
  }
  if (avail < kFrameHeaderSize + n) return Status::NeedMore;
  payload.assign(buffer_, offset_ + kFrameHeaderSize, n);
  offset_ += kFrameHeaderSize + n;
  return Status::Frame;
}

}  // namespace gatehouse
