#include "server/core/join_token.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <array>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/core/join_request.h"

namespace cursord::core {
namespace {

using Json = nlohmann::json;

// Debian's abseil has its own string_view type.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// ------------------------------------------------------------- refusals

struct RefusalInfo {
  JoinTokenRefusal refusal;
  int close_code;
  std::string_view reason;
  std::string_view label;
  absl::StatusCode status_code;
};

// The one table of refusals: close codes, reasons and labels are documented
// for clients and operators, so they change only together with the docs.
constexpr std::array<RefusalInfo, 9> kRefusals = {{
    {JoinTokenRefusal::kMalformed, 4400, "token malformed", "malformed",
     absl::StatusCode::kInvalidArgument},
    {JoinTokenRefusal::kMissing, 4401, "token missing", "missing",
     absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kBadSignature, 4402, "token signature invalid", "bad_signature",
     absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kWrongRoom, 4403, "token not valid for this room", "wrong_room",
     absl::StatusCode::kPermissionDenied},
    {JoinTokenRefusal::kWrongAlgorithm, 4405, "token algorithm not accepted",
     "wrong_algorithm", absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kExpired, 4406, "token expired", "expired",
     absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kNotYetValid, 4407, "token not yet valid", "not_yet_valid",
     absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kWrongAudience, 4408, "token audience not accepted", "wrong_audience",
     absl::StatusCode::kUnauthenticated},
    {JoinTokenRefusal::kBadClaims, 4409, "token claims invalid", "bad_claims",
     absl::StatusCode::kInvalidArgument},
}};

constexpr std::string_view kRefusalPayloadUrl = "type.cursord/cursord.core.JoinTokenRefusal";

const RefusalInfo& Info(JoinTokenRefusal refusal) {
  for (const RefusalInfo& info : kRefusals) {
    if (info.refusal == refusal) return info;
  }
  return kRefusals[0];  // unreachable: every enumerator is in the table
}

// `detail` says what is wrong in terms of the rules, never the token's
// contents, so the message may be logged.
absl::Status Refuse(JoinTokenRefusal refusal, absl::string_view detail) {
  const RefusalInfo& info = Info(refusal);
  absl::Status status(info.status_code,
                      absl::StrCat("join token refused (", Sv(info.label), "): ", detail));
  status.SetPayload(Sv(kRefusalPayloadUrl), absl::Cord(Sv(info.label)));
  return status;
}

// ---------------------------------------------------------------- OpenSSL

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

constexpr size_t kEs256CoordinateBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr size_t kMaxPemLength = 64 * 1024;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL leaves errors in a per-thread queue; a refusal must not leave
// them behind for the next, unrelated, caller on this thread.
template <typename T>
T ClearErrors(T result) {
  ERR_clear_error();
  return result;
}

BioPtr MemoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The algorithm a key pins: P-256 signs ES256, RSA of 2048 bits or more
// RS256. Everything else (other curves, Ed25519, RSA-PSS, DSA) is refused.
absl::StatusOr<JoinTokenAlgorithm> AlgorithmOfKey(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1 ||
        (std::string_view(group, length) != "prime256v1" &&
         std::string_view(group, length) != "P-256")) {
      return ClearErrors(absl::InvalidArgumentError(
          "EC key: only the P-256 (prime256v1) curve is accepted, for ES256"));
    }
    return JoinTokenAlgorithm::kEs256;
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return absl::InvalidArgumentError("RSA key: at least 2048 bits expected, for RS256");
    }
    return JoinTokenAlgorithm::kRs256;
  }
  return absl::InvalidArgumentError(
      "key type not accepted: an EC P-256 key (ES256) or an RSA key (RS256) expected");
}

std::string HmacSha256(std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), Bytes(input),
           input.size(), mac, &length) == nullptr) {
    return ClearErrors(std::string());
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

bool DigestVerify(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx != nullptr &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(input),
                                   input.size()) == 1;
  return ok ? true : ClearErrors(false);
}

absl::StatusOr<std::string> DigestSign(EVP_PKEY* key, std::string_view input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, Bytes(input), input.size()) != 1) {
    return ClearErrors(absl::InternalError("OpenSSL could not sign"));
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     Bytes(input), input.size()) != 1) {
    return ClearErrors(absl::InternalError("OpenSSL could not sign"));
  }
  signature.resize(length);
  return signature;
}

// JWS writes an ES256 signature as r || s, 32 bytes each (RFC 7518 3.4);
// OpenSSL reads and writes a DER ECDSA-Sig-Value.
std::string EcdsaRawToDer(std::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(raw), kEs256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);  // set0 took neither on failure
    BN_free(s);
    return ClearErrors(std::string());
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return ClearErrors(std::string());
  std::string der(length, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

absl::StatusOr<std::string> EcdsaDerToRaw(std::string_view der) {
  const unsigned char* in = Bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (sig == nullptr) return ClearErrors(absl::InternalError("OpenSSL wrote no ECDSA signature"));
  std::string raw(2 * kEs256CoordinateBytes, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kEs256CoordinateBytes) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kEs256CoordinateBytes,
                   kEs256CoordinateBytes) < 0) {
    return ClearErrors(absl::InternalError("ECDSA signature does not fit P-256"));
  }
  return raw;
}

// ------------------------------------------------------------- encoding

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Unpadded base64url only, and only its canonical form: abseil alone would
// also take padding and ignore stray low bits in the last character.
bool DecodeBase64Url(absl::string_view in, std::string* out) {
  for (char c : in) {
    if (!IsBase64UrlChar(c)) return false;
  }
  if (!absl::WebSafeBase64Unescape(in, out)) return false;
  return absl::WebSafeBase64Escape(*out) == in;
}

std::string EncodeBase64Url(std::string_view in) { return absl::WebSafeBase64Escape(Sv(in)); }

// A JSON object, or nullopt. The parse never throws.
std::optional<Json> ParseObject(std::string_view text) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

std::string Dump(const Json& json) {
  // Every string written is validated UTF-8 already; `replace` only makes
  // sure the dump cannot throw.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// NumericDate (RFC 7519 2): seconds since the epoch, possibly fractional.
// Out-of-range values saturate to the infinite past or future.
absl::Time FromNumericDate(const Json& value) {
  return absl::UnixEpoch() + absl::Seconds(value.get<double>());
}

// --------------------------------------------------------------- claims

bool IsValidAudience(std::string_view audience) {
  constexpr size_t kMaxAudienceLength = 256;
  if (audience.empty() || audience.size() > kMaxAudienceLength) return false;
  for (char c : audience) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return false;
    }
  }
  return true;
}

// An exact room id, or a prefix of one followed by '*' ("*" alone admits
// every room).
absl::Status ValidateRoomClaim(std::string_view room) {
  if (IsValidRoomId(room)) return absl::OkStatus();
  if (!room.empty() && room.back() == '*') {
    const std::string_view prefix = room.substr(0, room.size() - 1);
    if (prefix.empty() || IsValidRoomId(prefix)) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "room: a room id, or a room id prefix followed by '*', expected");
}

std::string AlgorithmList(const std::vector<JoinTokenAlgorithm>& algorithms) {
  return absl::StrJoin(algorithms, ", ", [](std::string* out, JoinTokenAlgorithm a) {
    absl::StrAppend(out, Sv(JoinTokenAlgorithmName(a)));
  });
}

// The claims' types and identity rules; the time, audience and room checks
// come after, in Verify.
absl::Status CheckClaimTypes(const Json& claims) {
  for (const char* name : {"sub", "room"}) {
    if (!claims.contains(name) || !claims[name].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("claim ", name, ": a string is required"));
    }
  }
  if (!claims.contains("exp") || !claims["exp"].is_number()) {
    return absl::InvalidArgumentError("claim exp: a number is required");
  }
  for (const char* name : {"nbf", "iat"}) {
    if (claims.contains(name) && !claims[name].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("claim ", name, ": a number expected"));
    }
  }
  for (const char* name : {"name", "color"}) {
    if (claims.contains(name) && !claims[name].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("claim ", name, ": a string expected"));
    }
  }
  if (claims.contains("aud")) {
    const Json& aud = claims["aud"];
    bool ok = aud.is_string() || (aud.is_array() && !aud.empty());
    if (aud.is_array()) {
      for (const Json& item : aud) ok = ok && item.is_string();
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          "claim aud: a string or a non-empty array of strings expected");
    }
  }
  return absl::OkStatus();
}

bool AudienceNames(const Json& aud, std::string_view audience) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == audience;
  for (const Json& item : aud) {
    if (item.get_ref<const std::string&>() == audience) return true;
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------- refusals

int JoinTokenCloseCode(JoinTokenRefusal refusal) { return Info(refusal).close_code; }

std::string_view JoinTokenCloseReason(JoinTokenRefusal refusal) { return Info(refusal).reason; }

std::string_view JoinTokenMetricLabel(JoinTokenRefusal refusal) { return Info(refusal).label; }

std::optional<JoinTokenRefusal> JoinTokenRefusalOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const absl::optional<absl::Cord> payload = status.GetPayload(Sv(kRefusalPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  for (const RefusalInfo& info : kRefusals) {
    if (*payload == Sv(info.label)) return info.refusal;
  }
  return std::nullopt;
}

// ----------------------------------------------------------------- keys

std::string_view JoinTokenAlgorithmName(JoinTokenAlgorithm algorithm) {
  switch (algorithm) {
    case JoinTokenAlgorithm::kHs256:
      return "HS256";
    case JoinTokenAlgorithm::kEs256:
      return "ES256";
    case JoinTokenAlgorithm::kRs256:
      return "RS256";
  }
  return "";
}

absl::StatusOr<JoinPublicKey> ParseJoinPublicKey(std::string_view pem) {
  if (pem.size() > kMaxPemLength) return absl::InvalidArgumentError("public key: PEM too long");
  if (absl::StrContains(Sv(pem), "PRIVATE KEY")) {
    return absl::InvalidArgumentError(
        "public key: this is a private key; give the public key "
        "(openssl pkey -in private.pem -pubout)");
  }
  BioPtr bio = MemoryBio(pem);
  std::shared_ptr<EVP_PKEY> key(
      bio == nullptr ? nullptr : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
      PkeyFree());
  if (key == nullptr) {
    return ClearErrors(absl::InvalidArgumentError(
        "public key: a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo) expected"));
  }
  absl::StatusOr<JoinTokenAlgorithm> algorithm = AlgorithmOfKey(key.get());
  if (!algorithm.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("public key: ", algorithm.status().message()));
  }
  return JoinPublicKey(std::move(key), *algorithm);
}

absl::StatusOr<JoinSigningKey> JoinSigningKey::FromSecret(std::string secret) {
  if (secret.size() < kMinJoinSecretLength) {
    return absl::InvalidArgumentError("secret: at least 32 bytes expected for HS256");
  }
  return JoinSigningKey(JoinTokenAlgorithm::kHs256, std::move(secret), nullptr);
}

absl::StatusOr<JoinSigningKey> JoinSigningKey::FromPrivateKeyPem(std::string_view pem) {
  if (pem.size() > kMaxPemLength) return absl::InvalidArgumentError("private key: PEM too long");
  // Without a callback OpenSSL would prompt on the terminal for the
  // passphrase of an encrypted key; refuse those instead.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  BioPtr bio = MemoryBio(pem);
  std::shared_ptr<EVP_PKEY> key(
      bio == nullptr ? nullptr
                     : PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr),
      PkeyFree());
  if (key == nullptr) {
    return ClearErrors(
        absl::InvalidArgumentError("private key: an unencrypted PEM private key expected"));
  }
  absl::StatusOr<JoinTokenAlgorithm> algorithm = AlgorithmOfKey(key.get());
  if (!algorithm.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key: ", algorithm.status().message()));
  }
  return JoinSigningKey(*algorithm, "", std::move(key));
}

// ---------------------------------------------------------------- signing

absl::StatusOr<std::string> SignJoinToken(const JoinTokenClaims& claims,
                                          const JoinSigningKey& key) {
  absl::Status status = ValidateUserId("sub", claims.sub);
  if (status.ok()) status = ValidateRoomClaim(claims.room);
  if (status.ok() && !claims.name.empty()) status = ValidateName("name", claims.name);
  if (!status.ok()) return status;
  Json payload = {{"sub", claims.sub},
                  {"room", claims.room},
                  {"exp", absl::ToUnixSeconds(claims.expiry)}};
  if (claims.not_before) payload["nbf"] = absl::ToUnixSeconds(*claims.not_before);
  if (claims.issued_at) payload["iat"] = absl::ToUnixSeconds(*claims.issued_at);
  if (!claims.name.empty()) payload["name"] = claims.name;
  if (!claims.color.empty()) {
    absl::StatusOr<std::string> color = NormalizeColor("color", claims.color);
    if (!color.ok()) return color.status();
    payload["color"] = *color;
  }
  for (const std::string& audience : claims.audience) {
    if (!IsValidAudience(audience)) {
      return absl::InvalidArgumentError("aud: 1 to 256 bytes of printable ASCII expected");
    }
  }
  if (claims.audience.size() == 1) {
    payload["aud"] = claims.audience.front();
  } else if (!claims.audience.empty()) {
    payload["aud"] = claims.audience;
  }
  const Json header = {{"alg", std::string(JoinTokenAlgorithmName(key.algorithm()))},
                       {"typ", "JWT"}};
  const std::string input =
      absl::StrCat(EncodeBase64Url(Dump(header)), ".", EncodeBase64Url(Dump(payload)));
  std::string signature;
  switch (key.algorithm()) {
    case JoinTokenAlgorithm::kHs256:
      signature = HmacSha256(key.secret(), input);
      if (signature.empty()) return absl::InternalError("OpenSSL could not compute HMAC");
      break;
    case JoinTokenAlgorithm::kRs256: {
      absl::StatusOr<std::string> sig = DigestSign(key.pkey(), input);
      if (!sig.ok()) return sig.status();
      signature = std::move(*sig);
      break;
    }
    case JoinTokenAlgorithm::kEs256: {
      absl::StatusOr<std::string> der = DigestSign(key.pkey(), input);
      if (!der.ok()) return der.status();
      absl::StatusOr<std::string> raw = EcdsaDerToRaw(*der);
      if (!raw.ok()) return raw.status();
      signature = std::move(*raw);
      break;
    }
  }
  return absl::StrCat(input, ".", EncodeBase64Url(signature));
}

// ------------------------------------------------------------- verifying

absl::StatusOr<JoinTokenVerifier> JoinTokenVerifier::Create(JoinTokenVerifierOptions options) {
  if (options.secret.empty() && !options.public_key.has_value()) {
    return absl::InvalidArgumentError("join tokens: a secret or a public key is required");
  }
  if (!options.secret.empty() && options.secret.size() < kMinJoinSecretLength) {
    return absl::InvalidArgumentError("join tokens: the secret needs at least 32 bytes");
  }
  if (options.skew < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("join tokens: the skew cannot be negative");
  }
  if (!options.audience.empty() && !IsValidAudience(options.audience)) {
    return absl::InvalidArgumentError(
        "join tokens: the audience must be 1 to 256 bytes of printable ASCII");
  }
  return JoinTokenVerifier(std::move(options));
}

std::vector<JoinTokenAlgorithm> JoinTokenVerifier::algorithms() const {
  std::vector<JoinTokenAlgorithm> algorithms;
  if (!options_.secret.empty()) algorithms.push_back(JoinTokenAlgorithm::kHs256);
  if (options_.public_key.has_value()) algorithms.push_back(options_.public_key->algorithm());
  return algorithms;
}

absl::StatusOr<VerifiedJoinToken> JoinTokenVerifier::Verify(std::string_view token,
                                                            std::string_view room,
                                                            absl::Time now) const {
  using R = JoinTokenRefusal;
  if (token.empty()) return Refuse(R::kMissing, "no token given");
  if (token.size() > kMaxJoinTokenLength) {
    return Refuse(R::kMalformed, "longer than 8192 bytes");
  }

  // Structure: three base64url parts, the first two JSON objects.
  const std::vector<absl::string_view> parts = absl::StrSplit(Sv(token), '.');
  if (parts.size() != 3) return Refuse(R::kMalformed, "not three dot-separated parts");
  std::string header_text, claims_text, signature;
  if (!DecodeBase64Url(parts[0], &header_text) || !DecodeBase64Url(parts[1], &claims_text) ||
      !DecodeBase64Url(parts[2], &signature)) {
    return Refuse(R::kMalformed, "a part is not unpadded base64url");
  }
  const std::optional<Json> header = ParseObject(header_text);
  if (!header.has_value()) return Refuse(R::kMalformed, "the header is not a JSON object");
  if (!header->contains("alg") || !(*header)["alg"].is_string()) {
    return Refuse(R::kMalformed, "the header has no alg string");
  }
  // RFC 7515 4.1.11: extensions marked critical must be understood; none are.
  if (header->contains("crit")) return Refuse(R::kMalformed, "crit header not supported");

  // Algorithm: pinned by the configured keys, never taken from the token.
  const std::string& alg = (*header)["alg"].get_ref<const std::string&>();
  std::optional<JoinTokenAlgorithm> algorithm;
  for (JoinTokenAlgorithm accepted : algorithms()) {
    if (alg == JoinTokenAlgorithmName(accepted)) algorithm = accepted;
  }
  if (!algorithm.has_value()) {
    return Refuse(R::kWrongAlgorithm,
                  absl::StrCat("alg not accepted; accepted: ", AlgorithmList(algorithms())));
  }

  // Signature, over the parts as sent.
  const std::string_view input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  bool verified = false;
  switch (*algorithm) {
    case JoinTokenAlgorithm::kHs256: {
      const std::string mac = HmacSha256(options_.secret, input);
      verified = !mac.empty() && signature.size() == mac.size() &&
                 CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
      break;
    }
    case JoinTokenAlgorithm::kRs256:
      verified = signature.size() ==
                     static_cast<size_t>(EVP_PKEY_get_size(options_.public_key->pkey())) &&
                 DigestVerify(options_.public_key->pkey(), input, signature);
      break;
    case JoinTokenAlgorithm::kEs256:
      if (signature.size() == 2 * kEs256CoordinateBytes) {
        const std::string der = EcdsaRawToDer(signature);
        verified = !der.empty() && DigestVerify(options_.public_key->pkey(), input, der);
      }
      break;
  }
  if (!verified) return Refuse(R::kBadSignature, "the signature does not verify");

  // Claims: types and identity rules first, then time, audience and room.
  const std::optional<Json> claims = ParseObject(claims_text);
  if (!claims.has_value()) return Refuse(R::kMalformed, "the claims are not a JSON object");
  if (absl::Status status = CheckClaimTypes(*claims); !status.ok()) {
    return Refuse(R::kBadClaims, status.message());
  }
  VerifiedJoinToken result;
  result.algorithm = *algorithm;
  result.user_id = (*claims)["sub"].get<std::string>();
  result.room = (*claims)["room"].get<std::string>();
  absl::Status rules = ValidateUserId("sub", result.user_id);
  if (rules.ok()) rules = ValidateRoomClaim(result.room);
  if (rules.ok() && claims->contains("name")) {
    result.name = (*claims)["name"].get<std::string>();
    rules = ValidateName("name", result.name);
  }
  if (rules.ok() && claims->contains("color")) {
    absl::StatusOr<std::string> color =
        NormalizeColor("color", (*claims)["color"].get_ref<const std::string&>());
    if (color.ok()) result.color = std::move(*color);
    rules = color.status();
  }
  if (!rules.ok()) return Refuse(R::kBadClaims, absl::StrCat("claim ", rules.message()));

  result.expiry = FromNumericDate((*claims)["exp"]);
  if (now >= result.expiry + options_.skew) return Refuse(R::kExpired, "exp has passed");
  if (claims->contains("nbf") && now < FromNumericDate((*claims)["nbf"]) - options_.skew) {
    return Refuse(R::kNotYetValid, "nbf is in the future");
  }
  if (claims->contains("iat") && now < FromNumericDate((*claims)["iat"]) - options_.skew) {
    return Refuse(R::kNotYetValid, "iat is in the future");
  }
  // RFC 7519 4.1.3: a token that names audiences is for them only, so
  // without a configured audience a token with aud is refused too.
  if (claims->contains("aud")) {
    if (options_.audience.empty() || !AudienceNames((*claims)["aud"], options_.audience)) {
      return Refuse(R::kWrongAudience, "aud does not name this server's audience");
    }
  } else if (!options_.audience.empty()) {
    return Refuse(R::kWrongAudience, "no aud, and this server requires one");
  }
  if (!JoinTokenRoomAdmits(result.room, room)) {
    return Refuse(R::kWrongRoom, "the room claim does not admit the requested room");
  }
  return result;
}

bool JoinTokenRoomAdmits(std::string_view room_claim, std::string_view room) {
  if (!room_claim.empty() && room_claim.back() == '*') {
    room_claim.remove_suffix(1);
    return room.substr(0, room_claim.size()) == room_claim;
  }
  return room_claim == room;
}

// ------------------------------------------------------------- extraction

absl::StatusOr<ExtractedJoinToken> ExtractJoinToken(std::string_view query,
                                                    std::string_view subprotocol_header) {
  ExtractedJoinToken result;
  // Two tokens are ambiguous (which one was verified?), so refuse them.
  auto take = [&result](std::string token, JoinTokenSource source) {
    if (result.source != JoinTokenSource::kNone) {
      return Refuse(JoinTokenRefusal::kMalformed, "a token is given more than once");
    }
    result.token = std::move(token);
    result.source = source;
    return absl::OkStatus();
  };
  absl::Status status =
      ForEachQueryParam(query, [&](std::string_view key, std::string_view raw) -> absl::Status {
        if (key != "token") return absl::OkStatus();
        absl::StatusOr<std::string> token = PercentDecode(raw, "token");
        if (!token.ok()) return Refuse(JoinTokenRefusal::kMalformed, token.status().message());
        return take(std::move(*token), JoinTokenSource::kQuery);
      });
  if (!status.ok()) return status;
  for (absl::string_view entry : absl::StrSplit(Sv(subprotocol_header), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    if (absl::StartsWith(entry, Sv(kJoinTokenSubprotocolPrefix))) {
      entry.remove_prefix(kJoinTokenSubprotocolPrefix.size());
      status = take(std::string(entry), JoinTokenSource::kSubprotocol);
      if (!status.ok()) return status;
      continue;
    }
    result.subprotocols.emplace_back(entry);
  }
  return result;
}

}  // namespace cursord::core
