#include "tests/cluster/member.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cursord::testing {

std::string Hex(const Bytes& bytes) {
  std::string text;
  for (size_t i = 0; i < bytes.size(); ++i) {
    absl::StrAppendFormat(&text, "%s%02x", i == 0 ? "" : " ", bytes[i]);
  }
  return text;
}

absl::StatusOr<std::unique_ptr<Member>> Member::Connect(int port, const std::string& room,
                                                        const std::string& label) {
  absl::StatusOr<std::unique_ptr<WsTestClient>> client =
      WsTestClient::Connect(port, "/rooms/" + room);
  if (!client.ok()) return client.status();
  return std::unique_ptr<Member>(new Member(*std::move(client), label));
}

absl::StatusOr<std::unique_ptr<Member>> Member::Join(int port, const std::string& room,
                                                     const std::string& label) {
  absl::StatusOr<std::unique_ptr<Member>> member = Connect(port, room, label);
  if (!member.ok()) return member.status();
  Member& m = **member;
  if (!m.WaitFor([&m] { return m.log_.size() >= 2; })) {
    if (m.closed_) {
      return absl::UnavailableError(absl::StrCat(label, ": closed ", m.close_code(), " \"",
                                                 m.close_reason(), "\" instead of joining"));
    }
    return absl::DeadlineExceededError(
        absl::StrCat(label, ": no 01 and 02 within 5 s: ", m.Describe()));
  }
  if (!m.violations_.empty()) {
    return absl::InternalError(absl::StrCat(label, ": bad join sequence: ", m.Describe()));
  }
  return member;
}

void Member::Move(uint16_t x, uint16_t y) { client_->SendBinary(CursorMessage(x, y)); }
void Member::Press() { client_->SendBinary({0x06}); }
void Member::Release() { client_->SendBinary({0x07}); }

void Member::Leave() {
  client_->Close(1000);
  closed_ = true;
}

void Member::Drop() {
  client_.reset();
  dropped_ = true;
  closed_ = true;
}

uint16_t Member::close_code() const { return client_ ? client_->close_code() : 1006; }
std::string Member::close_reason() const { return client_ ? client_->close_reason() : ""; }

bool Member::Pump(absl::Duration timeout) {
  if (closed_ || client_ == nullptr) return false;
  std::optional<Bytes> message = client_->Read(timeout);
  if (client_->closed()) closed_ = true;
  if (!message) return false;
  Record(*std::move(message));
  return true;
}

bool Member::WaitUntil(const std::function<bool()>& predicate, absl::Time deadline) {
  while (true) {
    if (predicate()) return true;
    const absl::Duration left = deadline - absl::Now();
    if (closed_ || left <= absl::ZeroDuration()) return predicate();
    Pump(std::min(left, absl::Milliseconds(100)));
  }
}

bool Member::WaitForMessage(const Bytes& message, absl::Duration timeout) {
  size_t found = log_.size();
  const bool ok = WaitFor([&] {
    for (size_t i = cursor_; i < log_.size(); ++i) {
      if (log_[i].bytes == message) {
        found = i;
        return true;
      }
    }
    return false;
  }, timeout);
  if (ok) cursor_ = found + 1;
  return ok;
}

bool Member::WaitClosed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!closed_ && absl::Now() < deadline) Pump(std::min(deadline - absl::Now(), absl::Milliseconds(100)));
  return closed_;
}

std::optional<std::pair<uint16_t, uint16_t>> Member::Position(uint8_t id) const {
  auto it = positions_.find(id);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

bool Member::Pressing(uint8_t id) const { return pressing_.count(id) > 0; }

std::vector<Member::Received> Member::About(uint8_t subject) const {
  std::vector<Received> about;
  for (size_t i = 2; i < log_.size(); ++i) {
    if (log_[i].bytes.size() >= 2 && log_[i].bytes[1] == subject) about.push_back(log_[i]);
  }
  return about;
}

void Member::Violation(const std::string& what, const Bytes& message) {
  violations_.push_back(absl::StrCat("message #", log_.size(), " [", Hex(message), "]: ", what));
}

// The rules of docs/PROTOCOL.md that one receiver can check on its own.
void Member::Record(Bytes message) {
  Received received{message, 0, absl::Now()};
  if (log_.empty()) {
    if (message.size() != 2 || message[0] != 0x01) Violation("the first message is not 01 id", message);
    if (message.size() >= 2) id_ = message[1];
  } else if (log_.size() == 1) {
    if (message.empty() || message[0] != 0x02) {
      Violation("the second message is not 02", message);
    } else {
      roster_.assign(message.begin() + 1, message.end());
      if (!std::is_sorted(roster_.begin(), roster_.end()) ||
          std::adjacent_find(roster_.begin(), roster_.end()) != roster_.end()) {
        Violation("02 is not strictly ascending", message);
      }
      if (std::find(roster_.begin(), roster_.end(), id_) == roster_.end()) {
        Violation("02 does not list me", message);
      }
      view_.insert(roster_.begin(), roster_.end());
    }
  } else if (message.empty()) {
    Violation("an empty message", message);
  } else {
    const uint8_t type = message[0];
    const size_t size = type == 0x05 ? 6 : 2;
    if (type < 0x03 || type > 0x07) {
      Violation("not a message the server sends after a join", message);
    } else if (message.size() != size) {
      Violation(absl::StrCat("length ", message.size(), ", not ", size), message);
    } else {
      const uint8_t subject = message[1];
      if (subject == id_) Violation("a message about myself", message);
      const bool present = view_.count(subject) > 0;
      switch (type) {
        case 0x03:
          if (present) Violation("03 for a member already present (no 04 before it)", message);
          view_.insert(subject);
          ++epochs_[subject];
          break;
        case 0x04:
          if (!present) Violation("04 for a member not present", message);
          view_.erase(subject);
          positions_.erase(subject);
          pressing_.erase(subject);
          break;
        case 0x05:
          if (!present) Violation("a position of a member not present", message);
          positions_[subject] = {static_cast<uint16_t>(message[2] << 8 | message[3]),
                                 static_cast<uint16_t>(message[4] << 8 | message[5])};
          break;
        case 0x06:
          if (!present) Violation("a press of a member not present", message);
          if (pressing_.count(subject)) Violation("06 twice without 07 between", message);
          pressing_.insert(subject);
          break;
        case 0x07:
          if (!present) Violation("a release of a member not present", message);
          if (!pressing_.count(subject)) Violation("07 without its 06", message);
          pressing_.erase(subject);
          break;
      }
      received.epoch = epochs_[subject];
    }
  }
  log_.push_back(std::move(received));
}

std::string Member::Describe(size_t last) const {
  std::string text = absl::StrCat(label_, " (id ", id_, ")");
  if (dropped_) {
    absl::StrAppend(&text, ", dropped");
  } else if (closed_) {
    absl::StrAppend(&text, ", closed ", close_code(), " \"", close_reason(), "\"");
  }
  absl::StrAppend(&text, ", sees {");
  for (uint8_t id : view_) absl::StrAppend(&text, " ", id);
  absl::StrAppend(&text, " }");
  for (const std::string& v : violations_) absl::StrAppend(&text, "\n  violation: ", v);
  const size_t first = log_.size() > last ? log_.size() - last : 0;
  absl::StrAppend(&text, "\n  ", log_.size(), " messages", first > 0 ? ", the last:" : ":");
  for (size_t i = first; i < log_.size(); ++i) {
    absl::StrAppend(&text, "\n    #", i, " [", Hex(log_[i].bytes), "]");
  }
  return text;
}

}  // namespace cursord::testing
