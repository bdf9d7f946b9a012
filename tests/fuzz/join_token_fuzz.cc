// Join tokens (server/core/join_token.h): verification, extraction from a
// join request, signing, and key loading.
//
// Input: byte 0 picks the mode (its low three bits, modulo 5) and, for
// signing, the options (its high bits, kEs256 and on); the rest is
// newline-separated fields:
//   0 verify    token \n room            against HS256 + ES256 keys
//   1 extract   query \n Sec-WebSocket-Protocol value
//   2 sign      sub \n room claim \n name \n color \n audience \n room
//   3 keys      a PEM text, as a public and as a private key
//   4 raw JSON  header \n claims \n room   signed here with the HS256
//               secret, so that the claim checks behind the signature
//               see any JSON at all
//
// Checks:
//  - every refusal carries a JoinTokenRefusal with a documented 44xx close
//    code, a short reason and a [a-z_] metric label; an empty token is
//    "missing", an extraction error "malformed";
//  - an accepted token obeys the identity rules and its room claim admits
//    the room joined;
//  - extraction: no source means no token, a subprotocol token is in the
//    header as sent, the other entries are trimmed, non-empty and not tokens;
//  - what SignJoinToken writes, Verify accepts with the same identity, or
//    refuses for exactly the reason the options make (expired, not yet
//    valid, wrong room); and the token changed in any one byte is refused;
//  - a key loads only as the algorithm its type pins (ES256 or RS256).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/core/join_request.h"
#include "server/core/join_token.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

using core::JoinTokenRefusal;

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Seeds in corpus/join_token_fuzz are signed with this secret and key.
constexpr std::string_view kSecret = "cursord-fuzz-secret-0123456789abcdef";
constexpr std::string_view kPrivateKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgm9QsGeiN60QsPucN\n"
    "5zvhZhxPvJ7Y6VMaQwooLtXONkKhRANCAARGdVkgKrXIIaChI/N0R40po1Ma6HFO\n"
    "CynpOde8G+/O1pwG1s7FqljrpyWSrLd6NlO7xfjPwrczEt4BJO/PkKNC\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kPublicKeyPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERnVZICq1yCGgoSPzdEeNKaNTGuhx\n"
    "Tgsp6TnXvBvvztacBtbOxapY66clkqy3ejZTu8X4z8K3MxLeASTvz5CjQg==\n"
    "-----END PUBLIC KEY-----\n";
// "Now" for every check: 2023-11-14T22:13:20Z, so seeds stay valid.
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// Option bits of byte 0 in the sign mode.
constexpr uint8_t kEs256 = 1 << 3;
constexpr uint8_t kNotBefore = 1 << 4;
constexpr uint8_t kIssuedAt = 1 << 5;
constexpr uint8_t kExpired = 1 << 6;
constexpr uint8_t kFromTheFuture = 1 << 7;  // nbf after now + skew

struct Keys {
  core::JoinSigningKey hs256;
  core::JoinSigningKey es256;
  core::JoinPublicKey es256_public;
  core::JoinTokenVerifier verifier;  // both algorithms, no audience
};

const Keys& GetKeys() {
  static const Keys* keys = [] {
    absl::StatusOr<core::JoinSigningKey> hs =
        core::JoinSigningKey::FromSecret(std::string(kSecret));
    absl::StatusOr<core::JoinSigningKey> es =
        core::JoinSigningKey::FromPrivateKeyPem(kPrivateKeyPem);
    absl::StatusOr<core::JoinPublicKey> pub = core::ParseJoinPublicKey(kPublicKeyPem);
    FUZZ_CHECK(hs.ok() && es.ok() && pub.ok());
    absl::StatusOr<core::JoinTokenVerifier> verifier = core::JoinTokenVerifier::Create(
        {std::string(kSecret), *pub, "", core::kDefaultJoinTokenSkew});
    FUZZ_CHECK(verifier.ok());
    return new Keys{*std::move(hs), *std::move(es), *pub, *std::move(verifier)};
  }();
  return *keys;
}

// A refusal as the edge reports it: a documented close code, a reason a
// close frame can carry, and a metric label.
JoinTokenRefusal CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(!status.ok());
  const std::optional<JoinTokenRefusal> refusal = core::JoinTokenRefusalOf(status);
  FUZZ_CHECK(refusal.has_value());
  const int code = core::JoinTokenCloseCode(*refusal);
  FUZZ_CHECK(code >= 4400 && code <= 4409 && code != 4404);
  const std::string_view reason = core::JoinTokenCloseReason(*refusal);
  FUZZ_CHECK(!reason.empty() && reason.size() <= 123);
  const std::string_view label = core::JoinTokenMetricLabel(*refusal);
  FUZZ_CHECK(!label.empty());
  for (char c : label) FUZZ_CHECK((c >= 'a' && c <= 'z') || c == '_');
  return *refusal;
}

void CheckAccepted(const core::VerifiedJoinToken& token, std::string_view room) {
  FUZZ_CHECK(core::ValidateUserId("sub", token.user_id).ok());
  FUZZ_CHECK(token.name.empty() || core::ValidateName("name", token.name).ok());
  if (!token.color.empty()) {
    absl::StatusOr<std::string> color = core::NormalizeColor("color", token.color);
    FUZZ_CHECK(color.ok() && *color == token.color);
  }
  FUZZ_CHECK(core::JoinTokenRoomAdmits(token.room, room));
}

void Verify(std::string_view token, std::string_view room) {
  // Verify takes the room of a parsed join, always a valid id.
  if (!core::IsValidRoomId(room)) room = "lobby";
  const absl::StatusOr<core::VerifiedJoinToken> verified =
      GetKeys().verifier.Verify(token, room, kNow);
  if (verified.ok()) {
    CheckAccepted(*verified, room);
  } else {
    const JoinTokenRefusal refusal = CheckRefusal(verified.status());
    FUZZ_CHECK(token.empty() == (refusal == JoinTokenRefusal::kMissing));
  }
}

void Extract(std::string_view query, std::string_view header) {
  const absl::StatusOr<core::ExtractedJoinToken> extracted = core::ExtractJoinToken(query, header);
  if (!extracted.ok()) {
    FUZZ_CHECK(CheckRefusal(extracted.status()) == JoinTokenRefusal::kMalformed);
    return;
  }
  if (extracted->source == core::JoinTokenSource::kNone) FUZZ_CHECK(extracted->token.empty());
  if (extracted->source == core::JoinTokenSource::kSubprotocol) {
    FUZZ_CHECK(header.find(std::string(core::kJoinTokenSubprotocolPrefix) + extracted->token) !=
               std::string_view::npos);
  }
  for (const std::string& entry : extracted->subprotocols) {
    FUZZ_CHECK(!entry.empty());
    FUZZ_CHECK(entry.find(',') == std::string::npos);
    FUZZ_CHECK(!absl::ascii_isspace(static_cast<unsigned char>(entry.front())));
    FUZZ_CHECK(!absl::ascii_isspace(static_cast<unsigned char>(entry.back())));
    FUZZ_CHECK(entry.rfind(core::kJoinTokenSubprotocolPrefix, 0) != 0);
  }
}

void SignAndVerify(uint8_t options, const std::vector<std::string_view>& fields) {
  core::JoinTokenClaims claims;
  claims.sub = std::string(fields[0]);
  claims.room = std::string(fields[1]);
  claims.name = std::string(fields[2]);
  claims.color = std::string(fields[3]);
  if (!fields[4].empty()) claims.audience.emplace_back(fields[4]);
  claims.expiry = kNow + ((options & kExpired) ? -absl::Hours(1) : absl::Hours(1));
  if (options & kNotBefore) claims.not_before = kNow - absl::Minutes(1);
  if (options & kFromTheFuture) claims.not_before = kNow + absl::Minutes(5);
  if (options & kIssuedAt) claims.issued_at = kNow - absl::Minutes(1);
  const std::string_view room = core::IsValidRoomId(fields[5]) ? fields[5] : "lobby";

  const Keys& keys = GetKeys();
  const core::JoinSigningKey& key = (options & kEs256) ? keys.es256 : keys.hs256;
  const absl::StatusOr<std::string> token = core::SignJoinToken(claims, key);
  if (!token.ok()) {
    FUZZ_CHECK(token.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }

  // The verifier expects the token's audience, if it names one.
  absl::StatusOr<core::JoinTokenVerifier> verifier = core::JoinTokenVerifier::Create(
      {std::string(kSecret), keys.es256_public, claims.audience.empty() ? "" : claims.audience[0],
       core::kDefaultJoinTokenSkew});
  FUZZ_CHECK(verifier.ok());  // SignJoinToken checked the audience already
  const absl::StatusOr<core::VerifiedJoinToken> verified = verifier->Verify(*token, room, kNow);

  std::optional<JoinTokenRefusal> expected;
  if (options & kExpired) {
    expected = JoinTokenRefusal::kExpired;
  } else if (options & kFromTheFuture) {
    expected = JoinTokenRefusal::kNotYetValid;
  } else if (!core::JoinTokenRoomAdmits(claims.room, room)) {
    expected = JoinTokenRefusal::kWrongRoom;
  }
  if (expected.has_value()) {
    FUZZ_CHECK(!verified.ok() && CheckRefusal(verified.status()) == *expected);
  } else {
    FUZZ_CHECK(verified.ok());
    CheckAccepted(*verified, room);
    FUZZ_CHECK(verified->user_id == claims.sub);
    FUZZ_CHECK(verified->room == claims.room);
    FUZZ_CHECK(verified->name == claims.name);
    FUZZ_CHECK(verified->color == absl::AsciiStrToLower(claims.color));
    FUZZ_CHECK(verified->algorithm == key.algorithm());
    FUZZ_CHECK(verified->expiry == absl::FromUnixSeconds(absl::ToUnixSeconds(claims.expiry)));
  }

  // Any one byte changed: the signature no longer covers what is read.
  if (verified.ok()) {
    std::string tampered = *token;
    const size_t at = (claims.sub.size() * 131 + claims.room.size()) % tampered.size();
    tampered[at] = static_cast<char>(tampered[at] ^ (1 + options % 0x7F));
    const absl::StatusOr<core::VerifiedJoinToken> forged = verifier->Verify(tampered, room, kNow);
    FUZZ_CHECK(!forged.ok());
    CheckRefusal(forged.status());
  }
}

// A compact JWS of the given header and claims texts, HS256 with kSecret.
std::string SignRaw(std::string_view header, std::string_view claims) {
  const std::string input = absl::StrCat(absl::WebSafeBase64Escape(Sv(header)), ".",
                                         absl::WebSafeBase64Escape(Sv(claims)));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  FUZZ_CHECK(HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                  &length) != nullptr);
  return absl::StrCat(
      input, ".",
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(mac), length)));
}

void LoadKeys(std::string_view pem) {
  const absl::StatusOr<core::JoinPublicKey> public_key = core::ParseJoinPublicKey(pem);
  if (public_key.ok()) {
    FUZZ_CHECK(public_key->algorithm() == core::JoinTokenAlgorithm::kEs256 ||
               public_key->algorithm() == core::JoinTokenAlgorithm::kRs256);
  } else {
    FUZZ_CHECK(public_key.status().code() == absl::StatusCode::kInvalidArgument);
  }
  const absl::StatusOr<core::JoinSigningKey> private_key =
      core::JoinSigningKey::FromPrivateKeyPem(pem);
  if (private_key.ok()) {
    FUZZ_CHECK(private_key->algorithm() == core::JoinTokenAlgorithm::kEs256 ||
               private_key->algorithm() == core::JoinTokenAlgorithm::kRs256);
  } else {
    FUZZ_CHECK(private_key.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cursord::fuzz;
  if (size == 0) return 0;
  const uint8_t options = data[0];
  const std::string_view rest = AsText(data + 1, size - 1);
  switch ((options & 7) % 5) {
    case 0: {
      const std::vector<std::string_view> fields = SplitFields(rest, 2);
      Verify(fields[0], fields[1]);
      break;
    }
    case 1: {
      const std::vector<std::string_view> fields = SplitFields(rest, 2);
      Extract(fields[0], fields[1]);
      break;
    }
    case 2:
      SignAndVerify(options, SplitFields(rest, 6));
      break;
    case 3:
      LoadKeys(rest);
      break;
    case 4: {
      const std::vector<std::string_view> fields = SplitFields(rest, 3);
      Verify(SignRaw(fields[0], fields[1]), fields[2]);
      break;
    }
  }
  return 0;
}
