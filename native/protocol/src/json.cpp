#include "gatehouse/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gatehouse/utf.h"

namespace gatehouse {

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::number(double d) {
  JsonValue v;
  v.type_ = Type::Number;
  v.number_ = d;
  return v;
}

JsonValue JsonValue::integer(std::int64_t i) {
  JsonValue v;
  v.type_ = Type::Number;
  v.number_ = static_cast<double>(i);
  v.integer_ = i;
  v.isInteger_ = true;
  return v;
}

JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}

JsonValue JsonValue::array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type_ = Type::Array;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::object(std::vector<Member> members) {
  JsonValue v;
  v.type_ = Type::Object;
  v.members_ = std::move(members);
  return v;
}

const JsonValue* JsonValue::get(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

std::optional<std::string> JsonValue::getString(std::string_view key) const {
  const JsonValue* v = get(key);
  if (v == nullptr || !v->isString()) return std::nullopt;
  return v->asString();
}

std::optional<std::int64_t> JsonValue::getInteger(std::string_view key) const {
  const JsonValue* v = get(key);
  if (v == nullptr || !v->isInteger()) return std::nullopt;
  return v->asInteger();
}

JsonValue& JsonValue::set(std::string key, JsonValue value) {
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view t) : text_(t) {}

  std::optional<JsonValue> run(std::string* error) {
    skipWs();
    JsonValue v;
    if (!value(v, 0)) return fail(error);
    skipWs();
    if (pos_ != text_.size()) {
      err_ = "unexpected data after the JSON value";
      return fail(error);
    }
    return v;
  }

 private:
  std::optional<JsonValue> fail(std::string* error) {
    if (error) *error = err_ + " at byte " + std::to_string(pos_);
    return std::nullopt;
  }

  void skipWs() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool literal(const char* word) {
    const std::size_t n = std::strlen(word);
    if (text_.substr(pos_, n) != word) {
      err_ = "invalid literal";
      return false;
    }
    pos_ += n;
    return true;
  }

  bool value(JsonValue& out, int depth) {
    if (pos_ >= text_.size()) {
      err_ = "unexpected end of input";
      return false;
    }
    switch (text_[pos_]) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = JsonValue::string(std::move(s));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        out = JsonValue::boolean(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = JsonValue::boolean(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        out = JsonValue::null();
        return true;
      default:
        return number(out);
    }
  }

  bool object(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) {
      err_ = "nesting too deep";
      return false;
    }
    ++pos_;  // {
    std::vector<JsonValue::Member> members;
    skipWs();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      out = JsonValue::object(std::move(members));
      return true;
    }
    for (;;) {
      skipWs();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        err_ = "expected a string key";
        return false;
      }
      std::string key;
      if (!string(key)) return false;
      skipWs();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        err_ = "expected ':'";
        return false;
      }
      ++pos_;
      skipWs();
      JsonValue v;
      if (!value(v, depth)) return false;
      members.emplace_back(std::move(key), std::move(v));
      skipWs();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        out = JsonValue::object(std::move(members));
        return true;
      }
      err_ = "expected ',' or '}'";
      return false;
    }
  }

  bool array(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) {
      err_ = "nesting too deep";
      return false;
    }
    ++pos_;  // [
    std::vector<JsonValue> items;
    skipWs();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      out = JsonValue::array(std::move(items));
      return true;
    }
    for (;;) {
      skipWs();
      JsonValue v;
      if (!value(v, depth)) return false;
      items.push_back(std::move(v));
      skipWs();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        out = JsonValue::array(std::move(items));
        return true;
      }
      err_ = "expected ',' or ']'";
      return false;
    }
  }

  bool hex4(std::uint32_t& v) {
    if (pos_ + 4 > text_.size()) {
      err_ = "truncated \\u escape";
      return false;
    }
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else {
        err_ = "invalid hex digit in \\u escape";
        return false;
      }
    }
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= text_.size()) {
        err_ = "unterminated string";
        return false;
      }
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        err_ = "unescaped control character in string";
        return false;
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) {
          err_ = "unterminated escape";
          return false;
        }
        const char e = text_[pos_++];
        switch (e) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          case 'u': {
            std::uint32_t u;
            if (!hex4(u)) return false;
            char32_t cp = u;
            if (u >= 0xD800 && u <= 0xDBFF) {
              // A high surrogate: a low one must follow as another \u escape to make a pair.
              if (pos_ + 6 <= text_.size() && text_[pos_] == '\\' && text_[pos_ + 1] == 'u') {
                const std::size_t save = pos_;
                pos_ += 2;
                std::uint32_t lo;
                if (!hex4(lo)) return false;
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                  cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                  cp = kReplacementChar;
                  pos_ = save;  // the next escape stands on its own
                }
              } else {
                cp = kReplacementChar;
              }
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
              cp = kReplacementChar;
            }
            appendUtf8(out, cp);
            break;
          }
          default:
            err_ = "invalid escape";
            --pos_;
            return false;
        }
        continue;
      }
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      const std::size_t start = pos_;
      char32_t cp;
      if (!decodeUtf8(text_, pos_, cp)) {
        pos_ = start;
        err_ = "invalid UTF-8 in string";
        return false;
      }
      out.append(text_.substr(start, pos_ - start));
    }
  }

  bool number(JsonValue& out) {
    const std::size_t start = pos_;
    bool integral = true;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
      err_ = "unexpected character";
      pos_ = start;
      return false;
    }
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
        err_ = "digit expected after '.'";
        return false;
      }
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
        err_ = "digit expected in exponent";
        return false;
      }
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    const std::string lexeme(text_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      char* end = nullptr;
      const long long i = std::strtoll(lexeme.c_str(), &end, 10);
      if (errno == 0 && end != nullptr && *end == '\0') {
        out = JsonValue::integer(i);
        return true;
      }
    }
    out = JsonValue::number(std::strtod(lexeme.c_str(), nullptr));
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string err_;
};

void appendHex4(std::string& out, unsigned v) {
  static const char* digits = "0123456789abcdef";
  out += "\\u";
  out.push_back(digits[(v >> 12) & 0xF]);
  out.push_back(digits[(v >> 8) & 0xF]);
  out.push_back(digits[(v >> 4) & 0xF]);
  out.push_back(digits[v & 0xF]);
}

void serialize(std::string& out, const JsonValue& v, bool asciiOnly) {
  switch (v.type()) {
    case JsonValue::Type::Null: out += "null"; break;
    case JsonValue::Type::Bool: out += v.asBool() ? "true" : "false"; break;
    case JsonValue::Type::Number:
      if (v.isInteger()) {
        out += std::to_string(v.asInteger());
      } else if (!std::isfinite(v.asNumber())) {
        out += "null";  // JSON has no NaN or Infinity
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", v.asNumber());
        out += buf;
      }
      break;
    case JsonValue::Type::String: appendJsonString(out, v.asString(), asciiOnly); break;
    case JsonValue::Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        serialize(out, item, asciiOnly);
      }
      out.push_back(']');
      break;
    }
    case JsonValue::Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonString(out, m.first, asciiOnly);
        out.push_back(':');
        serialize(out, m.second, asciiOnly);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::optional<JsonValue> parseJson(std::string_view text, std::string* error) { return Parser(text).run(error); }

void appendJsonString(std::string& out, std::string_view s, bool asciiOnly) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7F) appendHex4(out, c);
          else out.push_back(static_cast<char>(c));
      }
      continue;
    }
    char32_t cp;
    const std::size_t start = i;
    const bool ok = decodeUtf8(s, i, cp);
    if (!ok) cp = kReplacementChar;
    if (asciiOnly) {
      if (cp >= 0x10000) {
        const char32_t v = cp - 0x10000;
        appendHex4(out, 0xD800 + (v >> 10));
        appendHex4(out, 0xDC00 + (v & 0x3FF));
      } else {
        appendHex4(out, cp);
      }
    } else if (cp == 0x2028 || cp == 0x2029) {
      appendHex4(out, cp);  // legal in JSON, but not in older JavaScript string literals
    } else if (!ok) {
      appendUtf8(out, kReplacementChar);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out.push_back('"');
}

std::string toJson(const JsonValue& value, bool asciiOnly) {
  std::string out;
  serialize(out, value, asciiOnly);
  return out;
}

void JsonObjectWriter::key(std::string_view k) {
  if (!first_) out_.push_back(',');
  first_ = false;
  appendJsonString(out_, k);
  out_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, std::string_view value) {
  key(k);
  appendJsonString(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::nullField(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

}  // namespace gatehouse
