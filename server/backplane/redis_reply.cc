#include "server/backplane/redis_reply.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cursord::backplane {

Reply Reply::Integer(int64_t value) {
  Reply reply;
  reply.type_ = Type::kInteger;
  reply.integer_ = value;
  return reply;
}

Reply Reply::String(std::string bytes) {
  Reply reply;
  reply.type_ = Type::kString;
  reply.str_ = std::move(bytes);
  return reply;
}

Reply Reply::Status(std::string text) {
  Reply reply;
  reply.type_ = Type::kStatus;
  reply.str_ = std::move(text);
  return reply;
}

Reply Reply::Error(std::string message) {
  Reply reply;
  reply.type_ = Type::kError;
  reply.str_ = std::move(message);
  return reply;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply reply;
  reply.type_ = Type::kArray;
  reply.elements_ = std::move(elements);
  return reply;
}

std::string Reply::DebugString() const {
  switch (type_) {
    case Type::kNil:
      return "nil";
    case Type::kInteger:
      return absl::StrCat(integer_);
    case Type::kString:
      return absl::StrCat("\"", absl::CHexEscape(str_), "\"");
    case Type::kStatus:
      return absl::StrCat("+", absl::CHexEscape(str_));
    case Type::kError:
      return absl::StrCat("-", absl::CHexEscape(str_));
    case Type::kArray:
      return absl::StrCat("[", absl::StrJoin(elements_, ", ", [](std::string* out, const Reply& r) {
                            out->append(r.DebugString());
                          }),
                          "]");
  }
  return "?";
}

bool operator==(const Reply& a, const Reply& b) {
  return a.type_ == b.type_ && a.integer_ == b.integer_ && a.str_ == b.str_ &&
         a.elements_ == b.elements_;
}

std::string_view TypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kString:
      return "string";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
    case Reply::Type::kArray:
      return "array";
  }
  return "?";
}

}  // namespace cursord::backplane
