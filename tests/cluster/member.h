// A room member for the cluster tests: a WebSocket client that records
// every message it receives, keeps the room as the protocol lets a client
// know it (members, positions, presses), and notes every message that
// breaks docs/PROTOCOL.md's rules for one receiver (the fixture fails the
// test on any). Blocking and single-threaded, like WsTestClient: messages
// are read only while a test waits on this member.
#ifndef CURSORD_TESTS_CLUSTER_MEMBER_H_
#define CURSORD_TESTS_CLUSTER_MEMBER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/ws_test_client.h"

namespace cursord::testing {

// "05 03 00 10 00 20"
std::string Hex(const Bytes& bytes);

// Server-to-client messages about member `id`.
inline Bytes Joined(uint8_t id) { return {0x03, id}; }
inline Bytes Left(uint8_t id) { return {0x04, id}; }
inline Bytes Pressed(uint8_t id) { return {0x06, id}; }
inline Bytes Released(uint8_t id) { return {0x07, id}; }
inline Bytes PositionOf(uint8_t id, uint16_t x, uint16_t y) {
  return {0x05, id, static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x & 0xff),
          static_cast<uint8_t>(y >> 8), static_cast<uint8_t>(y & 0xff)};
}

class Member {
 public:
  struct Received {
    Bytes bytes;
    // For 03-07: how many `03 subject` this member had received when the
    // message arrived (0 for members of its own 02), so that a reused id's
    // owners can be told apart.
    int epoch = 0;
    absl::Time at;
  };

  // Connects to ws://127.0.0.1:port/rooms/room and reads `01 id` and
  // `02 ...`. A refusal (e.g. close 1013) is returned as an error naming
  // the close code and reason.
  static absl::StatusOr<std::unique_ptr<Member>> Join(int port, const std::string& room,
                                                      const std::string& label);
  // Connects without reading anything (a join the test expects refused).
  static absl::StatusOr<std::unique_ptr<Member>> Connect(int port, const std::string& room,
                                                         const std::string& label);

  uint8_t id() const { return id_; }
  const std::string& label() const { return label_; }
  const std::vector<uint8_t>& roster() const { return roster_; }

  // Client to server.
  void Move(uint16_t x, uint16_t y);
  void Press();
  void Release();
  // A normal close (1000), waiting for the server's echo.
  void Leave();
  // Ends the TCP connection without a close frame.
  void Drop();

  // Reads one message if one arrives within `timeout`; false if none did
  // or the connection is closed.
  bool Pump(absl::Duration timeout);
  // Reads until `predicate` holds (true) or `deadline` passes or the
  // connection closes (false).
  bool WaitUntil(const std::function<bool()>& predicate, absl::Time deadline);
  bool WaitFor(const std::function<bool()>& predicate,
               absl::Duration timeout = absl::Seconds(5)) {
    return WaitUntil(predicate, absl::Now() + timeout);
  }
  // Waits for a message equal to `message` after the last one a previous
  // WaitForMessage found (so consecutive calls check order), and moves
  // past it.
  bool WaitForMessage(const Bytes& message, absl::Duration timeout = absl::Seconds(5));
  // Reads until the server's close arrives.
  bool WaitClosed(absl::Duration timeout = absl::Seconds(5));

  bool closed() const { return closed_; }
  uint16_t close_code() const;
  std::string close_reason() const;

  // The room as this member knows it.
  const std::set<uint8_t>& view() const { return view_; }
  bool Sees(uint8_t id) const { return view_.count(id) > 0; }
  std::optional<std::pair<uint16_t, uint16_t>> Position(uint8_t id) const;
  bool Pressing(uint8_t id) const;
  const std::vector<Received>& log() const { return log_; }
  // The messages about `subject` (03-07), in arrival order.
  std::vector<Received> About(uint8_t subject) const;

  // Breaches of the protocol's per-receiver rules, one line each.
  const std::vector<std::string>& violations() const { return violations_; }
  // Label, id, close state, violations and the last messages, for failure
  // messages.
  std::string Describe(size_t last = 40) const;

 private:
  Member(std::unique_ptr<WsTestClient> client, std::string label)
      : client_(std::move(client)), label_(std::move(label)) {}
  void Record(Bytes message);
  void Violation(const std::string& what, const Bytes& message);

  std::unique_ptr<WsTestClient> client_;
  std::string label_;
  bool dropped_ = false;
  bool closed_ = false;
  uint8_t id_ = 0;
  std::vector<uint8_t> roster_;
  std::vector<Received> log_;
  size_t cursor_ = 0;  // WaitForMessage's next search position
  std::set<uint8_t> view_;
  std::map<uint8_t, int> epochs_;
  std::map<uint8_t, std::pair<uint16_t, uint16_t>> positions_;
  std::set<uint8_t> pressing_;
  std::vector<std::string> violations_;
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_CLUSTER_MEMBER_H_
