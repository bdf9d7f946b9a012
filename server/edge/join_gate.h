// Who may join, and as whom: the one owner of the decisions taken on an
// upgrade request before a connection becomes a member. In order:
//
//   1. the client's address (the peer, or what a trusted proxy says);
//   2. the browser origin (--allowed-origins): 403;
//   3. connection limits, in all and per address: 503 with Retry-After;
//   4. the join token (--join-secret / --join-public-key): the upgrade is
//      accepted and then closed with the token's 44xx code, so that a
//      browser can read why; a valid token gives the member's identity,
//      which the query string cannot override.
//
// The room limit (--max-rooms) is decided where rooms are created, on the
// room's shard (core::Admission).
//
// Thread-safe: built once at start-up, then only read (Admission locks).
#ifndef CURSORD_EDGE_JOIN_GATE_H_
#define CURSORD_EDGE_JOIN_GATE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/admission.h"
#include "server/core/client_address.h"
#include "server/core/join_request.h"
#include "server/core/join_token.h"
#include "server/core/origin_policy.h"
#include "server/edge/options.h"

namespace cursord::edge {

// A join that passed the gate, on its way to its room's shard.
struct AdmittedJoin {
  core::JoinRequest request;
  std::string remote_address;  // the client's, for logs and the control plane
  std::string accept_key;
  std::string subprotocol;  // to select in the 101 ("" = none)
  core::Admission::Slot slot;
  // Set: close with the token's code right after the 101, without joining.
  std::optional<core::JoinTokenRefusal> token_refusal;
  bool token_verified = false;
  // When its upgrade request was read: the start of the join latency
  // (cursord_join_latency_seconds).
  std::chrono::steady_clock::time_point requested_at{};
};

class JoinGate {
 public:
  // What a handshake offers the gate: the headers it reads.
  struct Handshake {
    std::string_view query;        // the target after '?'
    std::string_view origin;       // Origin
    std::string_view subprotocols; // Sec-WebSocket-Protocol
    // The trusted proxies' header (forwarded_header()), every line of it
    // joined with "," in order.
    std::string_view forwarded_for;
  };

  enum class Refusal {
    kNone,
    kOrigin,           // 403
    kConnectionLimit,  // 503
    kAddressLimit,     // 503
  };

  struct Decision {
    // An HTTP refusal (kNone: none), with its status and text.
    Refusal refusal = Refusal::kNone;
    unsigned http_status = 0;
    std::string reason;
    // Accepted: the client's address, the place it holds, the subprotocol
    // to select ("" = none), and, when its token was refused, why (the
    // session is closed with that code right after the 101).
    std::string client_address;
    core::Admission::Slot slot;
    std::string subprotocol;
    std::optional<core::JoinTokenRefusal> token_refusal;
    bool token_verified = false;
  };

  // Parses the lists and loads the key file named by `options`.
  static absl::StatusOr<std::unique_ptr<JoinGate>> Create(const ServerOptions& options);

  // Decides on a join of `join->room` from `peer`. On a valid token,
  // `join`'s identity is replaced by the token's.
  Decision Check(const Handshake& handshake, const core::IpAddress& peer,
                 core::JoinRequest* join, absl::Time now);

  // Whether joins need a token.
  bool tokens_required() const { return verifier_.has_value(); }
  bool origins_restricted() const { return origins_.restricted(); }
  // The header name the trusted proxies write ("X-Forwarded-For" or
  // "Forwarded").
  std::string_view forwarded_header() const;
  core::Admission& admission() { return admission_; }

 private:
  JoinGate(core::OriginPolicy origins, core::AddressRanges trusted_proxies,
           core::ForwardedHeader proxy_header, core::Admission::Options limits,
           std::optional<core::JoinTokenVerifier> verifier);

  const core::OriginPolicy origins_;
  const core::AddressRanges trusted_proxies_;
  const core::ForwardedHeader proxy_header_;
  core::Admission admission_;
  const std::optional<core::JoinTokenVerifier> verifier_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_JOIN_GATE_H_
