// A small JSON reader and writer: enough for the pipe protocol's flat objects, strict about what
// it accepts (RFC 8259, UTF-8 only, nesting at most 32 deep) and careful about what it writes
// (every control character, quote and backslash escaped; \uXXXX with surrogate pairs on request).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse {

class JsonValue {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue null() { return JsonValue(); }
  static JsonValue boolean(bool b);
  static JsonValue number(double d);
  static JsonValue integer(std::int64_t i);
  static JsonValue string(std::string s);
  static JsonValue array(std::vector<JsonValue> items = {});
  static JsonValue object(std::vector<Member> members = {});

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isNumber() const { return type_ == Type::Number; }
  bool isString() const { return type_ == Type::String; }
  bool isArray() const { return type_ == Type::Array; }
  bool isObject() const { return type_ == Type::Object; }
  /// A number written without fraction or exponent that fits in 64 bits.
  bool isInteger() const { return type_ == Type::Number && isInteger_; }

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  std::int64_t asInteger() const { return integer_; }
  const std::string& asString() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  /// Object member by key (the last one wins, as in JavaScript's JSON.parse), or nullptr.
  const JsonValue* get(std::string_view key) const;
  /// The member's string value, or nullopt when absent or not a string.
  std::optional<std::string> getString(std::string_view key) const;
  /// The member's integer value, or nullopt when absent or not an integer.
  std::optional<std::int64_t> getInteger(std::string_view key) const;

  /// Adds (or appends a duplicate of) a member; only for objects.
  JsonValue& set(std::string key, JsonValue value);

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  bool isInteger_ = false;
  double number_ = 0;
  std::int64_t integer_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

constexpr int kMaxJsonDepth = 32;

/// Parses one JSON text (surrounding whitespace allowed, nothing else). On failure returns nullopt
/// and sets `error` to a one-line reason with the byte offset. An escaped lone surrogate
/// (e.g. "\ud800") decodes to U+FFFD; raw invalid UTF-8 is an error.
std::optional<JsonValue> parseJson(std::string_view text, std::string* error = nullptr);

/// Appends `s` as a quoted JSON string. Invalid UTF-8 in `s` is written as U+FFFD. With
/// `asciiOnly`, every non-ASCII character is written as \uXXXX (pairs above U+FFFF).
void appendJsonString(std::string& out, std::string_view s, bool asciiOnly = false);

/// Compact serialization (no whitespace), object members in their order.
std::string toJson(const JsonValue& value, bool asciiOnly = false);

/// Builds one flat object, the shape of every protocol message.
class JsonObjectWriter {
 public:
  JsonObjectWriter& field(std::string_view key, std::string_view value);
  JsonObjectWriter& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
  JsonObjectWriter& field(std::string_view key, std::int64_t value);
  JsonObjectWriter& field(std::string_view key, int value) { return field(key, static_cast<std::int64_t>(value)); }
  JsonObjectWriter& field(std::string_view key, bool value);
  JsonObjectWriter& nullField(std::string_view key);
  std::string finish() const { return out_ + "}"; }

 private:
  void key(std::string_view k);
  std::string out_ = "{";
  bool first_ = true;
};

}  // namespace gatehouse
