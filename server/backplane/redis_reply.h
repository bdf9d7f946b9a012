// A Redis reply as a value: what the backplane reads from Redis, without
// hiredis' types (the conversion from a redisReply lives in hiredis_asio.cc,
// the only file that sees hiredis' reply objects).
#ifndef CURSORD_BACKPLANE_REDIS_REPLY_H_
#define CURSORD_BACKPLANE_REDIS_REPLY_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cursord::backplane {

class Reply {
 public:
  // RESP2's reply kinds. kString is a bulk string (binary-safe), kStatus a
  // simple string such as "OK", kError an error reply such as "ERR ...".
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Reply() = default;  // nil
  static Reply Nil() { return Reply(); }
  static Reply Integer(int64_t value);
  static Reply String(std::string bytes);
  static Reply Status(std::string text);
  static Reply Error(std::string message);
  static Reply Array(std::vector<Reply> elements);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_integer() const { return type_ == Type::kInteger; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_status() const { return type_ == Type::kStatus; }
  bool is_error() const { return type_ == Type::kError; }
  bool is_array() const { return type_ == Type::kArray; }

  // The value of a kInteger reply; 0 for any other.
  int64_t integer() const { return integer_; }
  // The bytes of a kString, the text of a kStatus, the message of a kError;
  // empty for any other.
  const std::string& str() const { return str_; }
  // The elements of a kArray; empty for any other.
  const std::vector<Reply>& elements() const { return elements_; }
  std::vector<Reply>& mutable_elements() { return elements_; }

  // A one-line rendering for tests and log lines: nil, 42, "bytes" (C-escaped),
  // +OK, -ERR message, [a, b].
  std::string DebugString() const;

  friend bool operator==(const Reply& a, const Reply& b);
  friend bool operator!=(const Reply& a, const Reply& b) { return !(a == b); }

 private:
  Type type_ = Type::kNil;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

std::string_view TypeName(Reply::Type type);

// Writes DebugString() (for test failures and log lines).
inline std::ostream& operator<<(std::ostream& out, const Reply& reply) {
  return out << reply.DebugString();
}

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_REDIS_REPLY_H_
