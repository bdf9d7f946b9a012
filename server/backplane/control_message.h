// The messages of the cluster bus, the channel cursord:control on the first
// Redis server (docs/BACKPLANE.md, "The cluster bus"): the control plane's
// requests to other instances and their replies. Pure code.
//
// JSON text, one message per PUBLISH, readable with `redis-cli SUBSCRIBE
// cursord:control`. Version 1:
//
//   {"v":1,"kind":"request","id":"<from>/<n>","from":"<instance>",
//    "to":["<instance>",...],"op":"<operation>","args":{...}}
//   {"v":1,"kind":"reply","id":"<request id>","from":"<instance>",
//    "to":["<requester>"],"result":{...}}
//   {"v":1,"kind":"reply",...,"error":{"code":<absl code>,"message":"..."}}
//
// A receiver ignores what is not addressed to it, and a message of another
// version or shape, over kMaxControlMessageBytes or nested deeper than
// kMaxControlMessageNesting (counted as bad). What each operation's args and result
// hold is the edge's business (server/edge/cluster_control.cc).
#ifndef CURSORD_BACKPLANE_CONTROL_MESSAGE_H_
#define CURSORD_BACKPLANE_CONTROL_MESSAGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace cursord::backplane {

inline constexpr int kControlMessageVersion = 1;
// Longer or deeper messages are refused unparsed: a room of 256 members is
// about 60 KB at depth 4.
inline constexpr size_t kMaxControlMessageBytes = 1 << 20;
inline constexpr int kMaxControlMessageNesting = 16;

struct ControlMessage {
  enum class Kind { kRequest, kReply };
  Kind kind = Kind::kRequest;
  std::string id;               // the request's, "<requester>/<n>"
  std::string from;             // the sending instance
  std::vector<std::string> to;  // a request's addressees; a reply's requester
  std::string op;               // requests only
  nlohmann::json body;          // a request's args, a reply's result
  absl::Status status;          // replies: not OK when the operation failed

  bool addressed_to(std::string_view instance) const;
};

std::string EncodeControlMessage(const ControlMessage& message);
// INVALID_ARGUMENT for text that is not a version-1 message of either kind.
absl::StatusOr<ControlMessage> DecodeControlMessage(std::string_view text);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_CONTROL_MESSAGE_H_
