#include "server/backplane/control_message.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cursord::backplane {
namespace {

absl::Status Bad(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat("control message: ", what));
}

// The deepest nesting of arrays and objects in `text` (strings skipped),
// so that a message nested a million deep is refused before parsing:
// parsing it would not crash, but copying the parsed value would recurse
// once per level.
int MaxNesting(std::string_view text) {
  int depth = 0;
  int max = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

bool IsStringArray(const nlohmann::json& value) {
  return value.is_array() &&
         std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); });
}

}  // namespace

bool ControlMessage::addressed_to(std::string_view instance) const {
  return std::find(to.begin(), to.end(), instance) != to.end();
}

std::string EncodeControlMessage(const ControlMessage& message) {
  nlohmann::json j;
  j["v"] = kControlMessageVersion;
  j["kind"] = message.kind == ControlMessage::Kind::kRequest ? "request" : "reply";
  j["id"] = message.id;
  j["from"] = message.from;
  j["to"] = message.to;
  if (message.kind == ControlMessage::Kind::kRequest) {
    j["op"] = message.op;
    j["args"] = message.body.is_null() ? nlohmann::json::object() : message.body;
  } else if (message.status.ok()) {
    j["result"] = message.body.is_null() ? nlohmann::json::object() : message.body;
  } else {
    j["error"] = {{"code", static_cast<int>(message.status.code())},
                  {"message", std::string(message.status.message())}};
  }
  // Invalid UTF-8 in a string (which the edge never lets in) is replaced
  // rather than thrown on.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<ControlMessage> DecodeControlMessage(std::string_view text) {
  if (text.size() > kMaxControlMessageBytes) return Bad("too long");
  if (MaxNesting(text) > kMaxControlMessageNesting) return Bad("nested too deep");
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  const auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != kControlMessageVersion) {
    return Bad("not version 1");
  }
  ControlMessage m;
  const auto kind = j.find("kind");
  const auto id = j.find("id");
  const auto from = j.find("from");
  const auto to = j.find("to");
  if (kind == j.end() || !kind->is_string() || id == j.end() || !id->is_string() ||
      from == j.end() || !from->is_string() || to == j.end() || !IsStringArray(*to)) {
    return Bad("kind, id, from or to missing or mistyped");
  }
  m.id = id->get<std::string>();
  m.from = from->get<std::string>();
  m.to = to->get<std::vector<std::string>>();
  if (*kind == "request") {
    const auto op = j.find("op");
    const auto args = j.find("args");
    if (op == j.end() || !op->is_string() || args == j.end() || !args->is_object()) {
      return Bad("a request without op or args");
    }
    m.kind = ControlMessage::Kind::kRequest;
    m.op = op->get<std::string>();
    m.body = std::move(*args);
    return m;
  }
  if (*kind != "reply") return Bad("unknown kind");
  m.kind = ControlMessage::Kind::kReply;
  if (const auto result = j.find("result"); result != j.end() && result->is_object()) {
    m.body = std::move(*result);
    return m;
  }
  const auto error = j.find("error");
  if (error == j.end() || !error->is_object()) return Bad("a reply without result or error");
  const auto code = error->find("code");
  const auto message = error->find("message");
  if (code == error->end() || !code->is_number_integer() || message == error->end() ||
      !message->is_string()) {
    return Bad("an error without code or message");
  }
  const int c = code->get<int>();
  // A code this version does not know is UNKNOWN; OK is no error.
  const auto status_code = (c > 0 && c <= static_cast<int>(absl::StatusCode::kUnauthenticated))
                               ? static_cast<absl::StatusCode>(c)
                               : absl::StatusCode::kUnknown;
  m.status = absl::Status(status_code, message->get<std::string>());
  return m;
}

}  // namespace cursord::backplane
