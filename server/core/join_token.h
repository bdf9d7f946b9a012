// Join tokens: compact JWS (RFC 7515) tokens that a platform's backend signs
// and a client presents when it joins a room, so identity and room access
// come from the backend rather than from the query string.
//
//   header  {"alg":"HS256"|"ES256"|"RS256", "typ":"JWT"?}
//   claims  sub    user id (required; the query string's user-id rule)
//           room   an exact room id, or a prefix ending in '*' (required;
//                  "lobby-*" admits "lobby-1", "*" admits every room)
//           exp    expiry, seconds since the epoch (required)
//           nbf    not before (optional)         iat  issued at (optional)
//           aud    string or array of strings (must name the configured
//                  audience; refused when none is configured)
//           name, color  display name and "#rrggbb" (optional; the query
//                  string's rules)
//
// The algorithm is pinned by the key, never chosen by the token: a secret
// accepts only HS256, a P-256 key only ES256, an RSA key only RS256;
// "none" and everything else are refused. Time checks allow `skew` either
// way (kDefaultJoinTokenSkew).
//
// Pure code: no I/O besides OpenSSL; the edge reads key files and the
// clock. Error texts never contain token contents, so they may be logged.
#ifndef CURSORD_CORE_JOIN_TOKEN_H_
#define CURSORD_CORE_JOIN_TOKEN_H_

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cursord::core {

// How far the verifier's clock may be from the signer's: `exp` is honoured
// until exp + skew, `nbf` and `iat` from nbf - skew and iat - skew.
inline constexpr absl::Duration kDefaultJoinTokenSkew = absl::Seconds(30);
// Longer tokens are refused as malformed before any decoding.
inline constexpr size_t kMaxJoinTokenLength = 8192;
// RFC 7518 3.2: an HS256 key at least as long as the hash.
inline constexpr size_t kMinJoinSecretLength = 32;
// Subprotocol entry that carries a token: "cursord.token.<JWT>".
inline constexpr std::string_view kJoinTokenSubprotocolPrefix = "cursord.token.";

// ------------------------------------------------------------- refusals

// Why a join token was refused. Each has a WebSocket close code, a close
// reason and a metric label (below); the edge accepts the upgrade and then
// closes with them, so browsers can read why.
enum class JoinTokenRefusal {
  kMissing,         // 4401  no token, and one is required
  kMalformed,       // 4400  not a compact JWS of JSON objects, too long, or given twice
  kBadSignature,    // 4402  the signature does not verify
  kWrongAlgorithm,  // 4405  alg is not the one the configured key pins ("none" included)
  kExpired,         // 4406  now >= exp + skew
  kNotYetValid,     // 4407  now < nbf - skew, or now < iat - skew
  kWrongRoom,       // 4403  the room claim does not admit the requested room
  kWrongAudience,   // 4408  aud does not name the configured audience
  kBadClaims,       // 4409  a claim is missing, of the wrong type, or breaks an identity rule
};

// The close code in the table above: 4400 + a distinct number per reason
// (4404 is left out, so it cannot read as "not found").
int JoinTokenCloseCode(JoinTokenRefusal refusal);
// A short close reason for the client, e.g. "token expired" (no token
// contents; well under the 123-byte limit of a close frame).
std::string_view JoinTokenCloseReason(JoinTokenRefusal refusal);
// A metric label, e.g. "bad_signature": lower case, [a-z_].
std::string_view JoinTokenMetricLabel(JoinTokenRefusal refusal);

// The refusal an error from VerifyJoinToken/ExtractJoinToken carries (as a
// status payload); nullopt for an OK status or any other error.
std::optional<JoinTokenRefusal> JoinTokenRefusalOf(const absl::Status& status);

// ----------------------------------------------------------------- keys

enum class JoinTokenAlgorithm { kHs256, kEs256, kRs256 };

// "HS256", "ES256", "RS256".
std::string_view JoinTokenAlgorithmName(JoinTokenAlgorithm algorithm);

// A public key that verifies ES256 (P-256) or RS256 (RSA, 2048 bits or
// more) tokens; which one is fixed by the key's type. Cheap to copy; one
// key may verify on many threads at once (OpenSSL 3 keys are immutable
// once loaded).
class JoinPublicKey {
 public:
  JoinTokenAlgorithm algorithm() const { return algorithm_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

 private:
  friend absl::StatusOr<JoinPublicKey> ParseJoinPublicKey(std::string_view pem);
  JoinPublicKey(std::shared_ptr<EVP_PKEY> pkey, JoinTokenAlgorithm algorithm)
      : pkey_(std::move(pkey)), algorithm_(algorithm) {}

  std::shared_ptr<EVP_PKEY> pkey_;
  JoinTokenAlgorithm algorithm_;
};

// Loads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo, as `openssl pkey -pubout`
// writes it). INVALID_ARGUMENT for anything else: a private key, another
// curve or key type, RSA under 2048 bits.
absl::StatusOr<JoinPublicKey> ParseJoinPublicKey(std::string_view pem);

// What signs tokens: an HS256 secret, or an ES256/RS256 private key.
class JoinSigningKey {
 public:
  // INVALID_ARGUMENT for a secret shorter than kMinJoinSecretLength.
  static absl::StatusOr<JoinSigningKey> FromSecret(std::string secret);
  // An unencrypted PEM private key (PKCS#8 "PRIVATE KEY", or "EC PRIVATE
  // KEY" / "RSA PRIVATE KEY"): P-256 signs ES256, RSA (2048+) RS256.
  static absl::StatusOr<JoinSigningKey> FromPrivateKeyPem(std::string_view pem);

  JoinTokenAlgorithm algorithm() const { return algorithm_; }
  const std::string& secret() const { return secret_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

 private:
  JoinSigningKey(JoinTokenAlgorithm algorithm, std::string secret,
                 std::shared_ptr<EVP_PKEY> pkey)
      : algorithm_(algorithm), secret_(std::move(secret)), pkey_(std::move(pkey)) {}

  JoinTokenAlgorithm algorithm_;
  std::string secret_;              // HS256 only
  std::shared_ptr<EVP_PKEY> pkey_;  // ES256 and RS256 only
};

// ---------------------------------------------------------------- signing

// The claims SignJoinToken writes. Times are written as whole seconds.
struct JoinTokenClaims {
  std::string sub;   // the user id
  std::string room;  // exact room id, or prefix ending in '*'
  absl::Time expiry;
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> issued_at;
  std::vector<std::string> audience;  // none; one (written as a string); or several
  std::string name;                   // omitted when ""
  std::string color;                  // omitted when ""; written in lower case
};

// A compact JWS "header.claims.signature" in the key's algorithm, with
// header {"alg":...,"typ":"JWT"}. INVALID_ARGUMENT for claims the verifier
// would refuse as kBadClaims (checked by the same rules), or for an
// audience that is not 1 to 256 bytes of printable ASCII.
absl::StatusOr<std::string> SignJoinToken(const JoinTokenClaims& claims,
                                          const JoinSigningKey& key);

// ------------------------------------------------------------- verifying

// What the verifier accepts.
struct JoinTokenVerifierOptions {
  std::string secret;                       // HS256 when not empty
  std::optional<JoinPublicKey> public_key;  // ES256 or RS256
  std::string audience;                     // "" = tokens must carry no aud
  absl::Duration skew = kDefaultJoinTokenSkew;
};

// A verified token: who joins, as the claims say (the query string cannot
// override any of it).
struct VerifiedJoinToken {
  std::string user_id;  // sub
  std::string name;     // "" when absent
  std::string color;    // "#rrggbb" in lower case, "" when absent
  std::string room;     // the room claim, as granted (may end in '*')
  absl::Time expiry;    // exp
  JoinTokenAlgorithm algorithm;
};

// Verifies tokens against a secret and/or one public key. Immutable after
// Create, so one verifier serves every thread.
class JoinTokenVerifier {
 public:
  // INVALID_ARGUMENT when neither a secret nor a public key is given, the
  // secret is shorter than kMinJoinSecretLength, the skew is negative, or
  // the audience is not 1 to 256 bytes of printable ASCII (when set).
  static absl::StatusOr<JoinTokenVerifier> Create(JoinTokenVerifierOptions options);

  // Checks `token` for a join of `room` (a valid room id) at `now`: the
  // structure, the algorithm, the signature, then the claims. An error
  // carries its JoinTokenRefusal (JoinTokenRefusalOf); an empty token is
  // kMissing.
  absl::StatusOr<VerifiedJoinToken> Verify(std::string_view token, std::string_view room,
                                           absl::Time now) const;

  // The algorithms this verifier accepts, in the order HS256, ES256, RS256.
  std::vector<JoinTokenAlgorithm> algorithms() const;

 private:
  explicit JoinTokenVerifier(JoinTokenVerifierOptions options)
      : options_(std::move(options)) {}

  JoinTokenVerifierOptions options_;
};

// True when `room_claim` (exact id or prefix ending in '*') admits `room`.
bool JoinTokenRoomAdmits(std::string_view room_claim, std::string_view room);

// ------------------------------------------------------------- extraction

enum class JoinTokenSource { kNone, kQuery, kSubprotocol };

struct ExtractedJoinToken {
  std::string token;  // "" when none was given
  JoinTokenSource source = JoinTokenSource::kNone;
  // The Sec-WebSocket-Protocol entries other than the token's, in order,
  // trimmed: what the server may select from. The server never echoes the
  // token entry; a client that sends one also offers a protocol (e.g.
  // "cursord.v2") for the server to select, as browsers require.
  std::vector<std::string> subprotocols;
};

// Finds the token of a join: the `token` parameter of `query` (the target
// after '?', percent-decoded as the other join parameters), or an entry
// "cursord.token.<JWT>" of `subprotocol_header` (the Sec-WebSocket-Protocol
// value; several header lines joined with ","). No token is not an error
// here (Verify says kMissing); a token given twice, in either place or
// both, or an invalid %-escape is kMalformed.
absl::StatusOr<ExtractedJoinToken> ExtractJoinToken(std::string_view query,
                                                    std::string_view subprotocol_header);

}  // namespace cursord::core

#endif  // CURSORD_CORE_JOIN_TOKEN_H_
