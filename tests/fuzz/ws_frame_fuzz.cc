// core::FrameParser fed a client byte stream in arbitrary pieces.
//
// Input: byte 0 picks the parser's max message size (kMaxMessageSizes),
// bytes 1-4 are the chunk sizes, used in turn (0 means "the rest"), and the
// remaining bytes are the stream. Each chunk is a heap block of exactly its
// size, so AddressSanitizer catches any read past what a read() returned.
//
// Checks:
//  - what a handler sees is well formed: data messages are text or binary
//    and at most the max size; pings at most 125 bytes; a close carries
//    1005 and no reason, or a code a peer may send and a UTF-8 reason of at
//    most 123 bytes;
//  - a close frame or an error stops parsing: no callback after OnClose in
//    the same call, and none after an error result;
//  - buffered_bytes() stays within the max message size plus one frame
//    header and one control frame (what a fragmented message, an unfinished
//    frame and an interleaved ping can hold at once);
//  - chunking changes nothing: the events, the result and the bytes held at
//    the end are the same as for the whole stream in one call.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/utf8.h"
#include "server/core/ws_frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

using core::Opcode;

constexpr std::array<size_t, 8> kMaxMessageSizes = {1, 7, 125, 126, 127, 1000, 4096, 1 << 20};
constexpr size_t kMaxFrameHeader = 14;  // 2 + 8 (64-bit length) + 4 (mask)
constexpr size_t kMaxControlPayload = 125;
constexpr size_t kMaxCloseReason = 123;

bool IsPeerCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

struct Event {
  enum class Kind { kMessage, kPing, kPong, kClose } kind;
  Opcode opcode = Opcode::kContinuation;
  uint16_t code = 0;
  std::string bytes;

  bool operator==(const Event& o) const {
    return kind == o.kind && opcode == o.opcode && code == o.code && bytes == o.bytes;
  }
};

// Records events and checks each as it arrives.
class CheckingHandler : public core::FrameHandler {
 public:
  explicit CheckingHandler(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  void OnMessage(Opcode opcode, const uint8_t* data, size_t size) override {
    FUZZ_CHECK(!closed_);
    FUZZ_CHECK(opcode == Opcode::kText || opcode == Opcode::kBinary);
    FUZZ_CHECK(size <= max_message_bytes_);
    events_.push_back({Event::Kind::kMessage, opcode, 0, std::string(AsText(data, size))});
  }
  void OnPing(const uint8_t* data, size_t size) override {
    FUZZ_CHECK(!closed_);
    FUZZ_CHECK(size <= kMaxControlPayload);
    events_.push_back({Event::Kind::kPing, Opcode::kPing, 0, std::string(AsText(data, size))});
  }
  void OnPong() override {
    FUZZ_CHECK(!closed_);
    events_.push_back({Event::Kind::kPong, Opcode::kPong, 0, ""});
  }
  void OnClose(uint16_t code, std::string_view reason) override {
    FUZZ_CHECK(!closed_);
    if (code == core::kCloseNoStatus) {
      FUZZ_CHECK(reason.empty());
    } else {
      FUZZ_CHECK(IsPeerCloseCode(code));
    }
    FUZZ_CHECK(reason.size() <= kMaxCloseReason);
    FUZZ_CHECK(core::IsValidUtf8(reason));
    closed_ = true;
    events_.push_back({Event::Kind::kClose, Opcode::kClose, code, std::string(reason)});
  }

  bool closed() const { return closed_; }
  const std::vector<Event>& events() const { return events_; }

 private:
  const size_t max_message_bytes_;
  bool closed_ = false;
  std::vector<Event> events_;
};

struct Outcome {
  std::vector<Event> events;
  core::FrameParser::Result result;
  size_t buffered_bytes = 0;
};

// Feeds `stream` in chunks of the given sizes (cycled; 0 = the rest) and
// stops where a connection would: at an error or after a close.
Outcome Parse(std::string_view stream, size_t max_message_bytes,
              const std::vector<size_t>& chunk_sizes) {
  core::FrameParser parser(max_message_bytes);
  CheckingHandler handler(max_message_bytes);
  Outcome outcome;
  size_t next = 0;
  while (!stream.empty()) {
    size_t n = chunk_sizes[next++ % chunk_sizes.size()];
    if (n == 0 || n > stream.size()) n = stream.size();
    // An exact-size copy: the parser unmasks in place, and ASan sees any
    // access past the end of this "read".
    std::unique_ptr<uint8_t[]> chunk(new uint8_t[n]);
    std::memcpy(chunk.get(), stream.data(), n);
    stream.remove_prefix(n);
    outcome.result = parser.Consume(chunk.get(), n, handler);
    outcome.buffered_bytes = parser.buffered_bytes();
    FUZZ_CHECK(outcome.buffered_bytes <= max_message_bytes + kMaxFrameHeader + kMaxControlPayload);
    if (!outcome.result.ok) {
      FUZZ_CHECK(outcome.result.close_code == core::kCloseProtocolError ||
                 outcome.result.close_code == core::kCloseTooBig ||
                 outcome.result.close_code == core::kCloseInvalidPayload);
      FUZZ_CHECK(std::strlen(outcome.result.reason) > 0);
      FUZZ_CHECK(!handler.closed());
      break;
    }
    if (handler.closed()) break;
  }
  outcome.events = handler.events();
  return outcome;
}

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cursord::fuzz;
  if (size < 5) return 0;
  const size_t max_message_bytes = kMaxMessageSizes[data[0] % kMaxMessageSizes.size()];
  const std::vector<size_t> chunk_sizes(data + 1, data + 5);
  const std::string_view stream = AsText(data + 5, size - 5);

  const Outcome whole = Parse(stream, max_message_bytes, {0});
  const Outcome chunked = Parse(stream, max_message_bytes, chunk_sizes);
  FUZZ_CHECK(whole.events == chunked.events);
  FUZZ_CHECK(whole.result.ok == chunked.result.ok);
  FUZZ_CHECK(whole.result.close_code == chunked.result.close_code);
  FUZZ_CHECK(std::string_view(whole.result.reason) == chunked.result.reason);
  FUZZ_CHECK(whole.buffered_bytes == chunked.buffered_bytes);
  return 0;
}
