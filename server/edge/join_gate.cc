#include "server/edge/join_gate.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/ws_handshake.h"

namespace cursord::edge {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The subprotocol to select among those the client offered (the token's
// entry excluded): v2 when offered, else v1 when offered, else none.
std::string SelectSubprotocol(const std::vector<std::string>& offered) {
  std::string selected;
  for (const std::string& protocol : offered) {
    if (protocol == core::kSubprotocolV2) return protocol;
    if (protocol == core::kSubprotocolV1) selected = protocol;
  }
  return selected;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JoinGate>> JoinGate::Create(const ServerOptions& options) {
  CURSORD_ASSIGN_OR_RETURN(core::OriginPolicy origins,
                           core::OriginPolicy::Parse(options.allowed_origins));
  absl::StatusOr<core::AddressRanges> proxies =
      core::AddressRanges::Parse(options.trusted_proxies);
  if (!proxies.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("trusted proxies: ", proxies.status().message()));
  }
  CURSORD_ASSIGN_OR_RETURN(const core::ForwardedHeader proxy_header,
                           core::ParseForwardedHeader(options.trusted_proxy_header));
  std::optional<core::JoinTokenVerifier> verifier;
  if (!options.join_secret.empty() || !options.join_public_key_file.empty()) {
    core::JoinTokenVerifierOptions token_options;
    token_options.secret = options.join_secret;
    token_options.audience = options.join_audience;
    token_options.skew = options.join_token_skew;
    if (!options.join_public_key_file.empty()) {
      CURSORD_ASSIGN_OR_RETURN(const std::string pem, ReadFile(options.join_public_key_file));
      absl::StatusOr<core::JoinPublicKey> key = core::ParseJoinPublicKey(pem);
      if (!key.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(options.join_public_key_file, ": ",
                                                       key.status().message()));
      }
      token_options.public_key = std::move(*key);
    }
    CURSORD_ASSIGN_OR_RETURN(verifier, core::JoinTokenVerifier::Create(std::move(token_options)));
  }
  return std::unique_ptr<JoinGate>(new JoinGate(
      std::move(origins), std::move(*proxies), proxy_header,
      core::Admission::Options{options.max_connections, options.max_connections_per_ip,
                               options.max_rooms},
      std::move(verifier)));
}

JoinGate::JoinGate(core::OriginPolicy origins, core::AddressRanges trusted_proxies,
                   core::ForwardedHeader proxy_header, core::Admission::Options limits,
                   std::optional<core::JoinTokenVerifier> verifier)
    : origins_(std::move(origins)),
      trusted_proxies_(std::move(trusted_proxies)),
      proxy_header_(proxy_header),
      admission_(limits),
      verifier_(std::move(verifier)) {}

JoinGate::Decision JoinGate::Check(const Handshake& handshake, const core::IpAddress& peer,
                                   core::JoinRequest* join, absl::Time now) {
  Decision decision;
  decision.client_address =
      core::ClientAddress(peer, handshake.forwarded_for, proxy_header_, trusted_proxies_);
  if (!origins_.Allows(handshake.origin)) {
    decision.refusal = Refusal::kOrigin;
    decision.http_status = 403;
    decision.reason = "origin not allowed";
    return decision;
  }
  core::Admission::Limit hit = core::Admission::Limit::kServer;
  absl::StatusOr<core::Admission::Slot> slot =
      admission_.AcquireConnection(decision.client_address, &hit);
  if (!slot.ok()) {
    decision.refusal = hit == core::Admission::Limit::kAddress ? Refusal::kAddressLimit
                                                               : Refusal::kConnectionLimit;
    decision.http_status = 503;
    decision.reason = std::string(slot.status().message());
    return decision;
  }
  decision.slot = std::move(*slot);

  // The token, from ?token= or a subprotocol entry; the entries that are
  // left are what the client offers to speak.
  absl::StatusOr<core::ExtractedJoinToken> extracted =
      core::ExtractJoinToken(handshake.query, handshake.subprotocols);
  if (extracted.ok()) decision.subprotocol = SelectSubprotocol(extracted->subprotocols);
  // Without token checks, a token is nobody's business.
  if (!verifier_) return decision;
  if (!extracted.ok()) {
    decision.token_refusal = core::JoinTokenRefusalOf(extracted.status())
                                 .value_or(core::JoinTokenRefusal::kMalformed);
    return decision;
  }
  absl::StatusOr<core::VerifiedJoinToken> token =
      verifier_->Verify(extracted->token, join->room, now);
  if (!token.ok()) {
    decision.token_refusal =
        core::JoinTokenRefusalOf(token.status()).value_or(core::JoinTokenRefusal::kMalformed);
    return decision;
  }
  // The identity is the token's, whatever the query string said.
  decision.token_verified = true;
  join->user_id = token->user_id;
  join->name = token->name;
  join->color = token->color;
  return decision;
}

std::string_view JoinGate::forwarded_header() const {
  return proxy_header_ == core::ForwardedHeader::kForwarded ? "Forwarded" : "X-Forwarded-For";
}

}  // namespace cursord::edge
