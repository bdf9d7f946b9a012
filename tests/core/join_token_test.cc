#include "server/core/join_token.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <ostream>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace cursord::core {

// Failures name the refusal, not its bytes.
void PrintTo(JoinTokenRefusal refusal, std::ostream* os) {
  *os << JoinTokenMetricLabel(refusal);
}

namespace {

using R = JoinTokenRefusal;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes

// ------------------------------------------------------------ key material

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

std::string BioText(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return std::string(mem->data, mem->length);
}

KeyPair PemsOf(EVP_PKEY* key) {
  KeyPair pair;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  pair.private_pem = BioText(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  pair.public_pem = BioText(bio);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pair;
}

KeyPair EcKey(const char* curve = "P-256") {
  return PemsOf(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}
KeyPair RsaKey(size_t bits = 2048) {
  return PemsOf(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

// Generated once: RSA key generation takes a while.
const KeyPair& Es() {
  static const KeyPair* pair = new KeyPair(EcKey());
  return *pair;
}
const KeyPair& Rs() {
  static const KeyPair* pair = new KeyPair(RsaKey());
  return *pair;
}

// ----------------------------------------------------------------- tokens

JoinTokenClaims Claims() {
  JoinTokenClaims claims;
  claims.sub = "u-1";
  claims.room = "lobby";
  claims.expiry = kNow + absl::Hours(1);
  return claims;
}

std::string Sign(const JoinTokenClaims& claims, const JoinSigningKey& key) {
  absl::StatusOr<std::string> token = SignJoinToken(claims, key);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

JoinSigningKey SecretKey(std::string secret = kSecret) {
  return *JoinSigningKey::FromSecret(std::move(secret));
}
JoinSigningKey PrivateKey(const KeyPair& pair) {
  return *JoinSigningKey::FromPrivateKeyPem(pair.private_pem);
}

std::string B64(const std::string& s) { return absl::WebSafeBase64Escape(s); }

// A token with any header and claims text, HMAC-SHA256 signed with `secret`:
// what a buggy or hostile signer could send.
std::string Forge(const std::string& header, const std::string& claims,
                  const std::string& secret = kSecret) {
  const std::string input = absl::StrCat(B64(header), ".", B64(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return absl::StrCat(input, ".", B64(std::string(reinterpret_cast<char*>(mac), length)));
}

constexpr char kHs256Header[] = R"({"alg":"HS256","typ":"JWT"})";

std::vector<std::string> Parts(const std::string& token) {
  return absl::StrSplit(token, '.');
}

// The token with its signature part replaced.
std::string WithSignature(const std::string& token, const std::string& signature) {
  const std::vector<std::string> parts = Parts(token);
  return absl::StrCat(parts[0], ".", parts[1], ".", signature);
}

// The token with one bit of its decoded signature flipped.
std::string FlipSignatureBit(const std::string& token) {
  std::string signature;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(Parts(token)[2], &signature));
  signature[signature.size() / 2] ^= 0x01;
  return WithSignature(token, B64(signature));
}

// Options with a secret ("" for none) and/or a public key, the rest default.
JoinTokenVerifierOptions Options(std::string secret, const KeyPair* pair = nullptr) {
  JoinTokenVerifierOptions options;
  options.secret = std::move(secret);
  if (pair != nullptr) options.public_key = *ParseJoinPublicKey(pair->public_pem);
  return options;
}
JoinTokenVerifierOptions WithSkew(JoinTokenVerifierOptions options, absl::Duration skew) {
  options.skew = skew;
  return options;
}
JoinTokenVerifierOptions WithAudience(JoinTokenVerifierOptions options, std::string audience) {
  options.audience = std::move(audience);
  return options;
}

JoinTokenVerifier Verifier(JoinTokenVerifierOptions options) {
  absl::StatusOr<JoinTokenVerifier> verifier = JoinTokenVerifier::Create(std::move(options));
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *std::move(verifier);
}
JoinTokenVerifier SecretVerifier() { return Verifier(Options(kSecret)); }
JoinTokenVerifier KeyVerifier(const KeyPair& pair) {
  return Verifier(Options("", &pair));
}

// The refusal of a verification that must fail, or a test failure.
std::optional<R> Refusal(const JoinTokenVerifier& verifier, std::string_view token,
                         std::string_view room = "lobby", absl::Time now = kNow) {
  absl::StatusOr<VerifiedJoinToken> result = verifier.Verify(token, room, now);
  EXPECT_FALSE(result.ok()) << "accepted";
  if (result.ok()) return std::nullopt;
  EXPECT_TRUE(JoinTokenRefusalOf(result.status()).has_value()) << result.status();
  return JoinTokenRefusalOf(result.status());
}

// ------------------------------------------------------------- accepted

TEST(JoinTokenTest, Hs256TokenGivesTheIdentityOfItsClaims) {
  JoinTokenClaims claims = Claims();
  claims.name = "Ada Lovelace \xC3\xA9";
  claims.color = "#A0B1C2";
  claims.issued_at = kNow;
  claims.not_before = kNow;
  const std::string token = Sign(claims, SecretKey());
  absl::StatusOr<VerifiedJoinToken> verified = SecretVerifier().Verify(token, "lobby", kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->user_id, "u-1");
  EXPECT_EQ(verified->name, "Ada Lovelace \xC3\xA9");
  EXPECT_EQ(verified->color, "#a0b1c2");
  EXPECT_EQ(verified->room, "lobby");
  EXPECT_EQ(verified->expiry, kNow + absl::Hours(1));
  EXPECT_EQ(verified->algorithm, JoinTokenAlgorithm::kHs256);
}

TEST(JoinTokenTest, SignedHeaderNamesTheKeysAlgorithm) {
  std::string header;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(Parts(Sign(Claims(), SecretKey()))[0], &header));
  EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT"})");
  ASSERT_TRUE(absl::WebSafeBase64Unescape(Parts(Sign(Claims(), PrivateKey(Es())))[0], &header));
  EXPECT_EQ(header, R"({"alg":"ES256","typ":"JWT"})");
}

TEST(JoinTokenTest, Es256TokenWithARawSixtyFourByteSignatureIsAccepted) {
  const std::string token = Sign(Claims(), PrivateKey(Es()));
  std::string signature;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(Parts(token)[2], &signature));
  EXPECT_EQ(signature.size(), 64u);  // r || s, not DER
  absl::StatusOr<VerifiedJoinToken> verified = KeyVerifier(Es()).Verify(token, "lobby", kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->user_id, "u-1");
  EXPECT_EQ(verified->algorithm, JoinTokenAlgorithm::kEs256);
}

TEST(JoinTokenTest, Rs256TokenIsAccepted) {
  const std::string token = Sign(Claims(), PrivateKey(Rs()));
  absl::StatusOr<VerifiedJoinToken> verified = KeyVerifier(Rs()).Verify(token, "lobby", kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->algorithm, JoinTokenAlgorithm::kRs256);
}

TEST(JoinTokenTest, SecretAndPublicKeyTogetherAcceptBothAlgorithms) {
  const JoinTokenVerifier verifier =
      Verifier(Options(kSecret, &Es()));
  EXPECT_TRUE(verifier.Verify(Sign(Claims(), SecretKey()), "lobby", kNow).ok());
  EXPECT_TRUE(verifier.Verify(Sign(Claims(), PrivateKey(Es())), "lobby", kNow).ok());
  EXPECT_EQ(verifier.algorithms(),
            (std::vector<JoinTokenAlgorithm>{JoinTokenAlgorithm::kHs256,
                                             JoinTokenAlgorithm::kEs256}));
}

TEST(JoinTokenTest, FractionalAndFarFutureTimesAreNumbers) {
  const std::string fractional =
      Forge(kHs256Header, R"({"sub":"u","room":"lobby","exp":1700000000.5})");
  EXPECT_TRUE(SecretVerifier().Verify(fractional, "lobby", kNow).ok());
  const std::string far = Forge(kHs256Header, R"({"sub":"u","room":"lobby","exp":1e300})");
  EXPECT_TRUE(SecretVerifier().Verify(far, "lobby", kNow).ok());
  const std::string negative = Forge(kHs256Header, R"({"sub":"u","room":"lobby","exp":-1e300})");
  EXPECT_EQ(Refusal(SecretVerifier(), negative), R::kExpired);
}

// ------------------------------------------------------------------ time

TEST(JoinTokenTest, ExpiredFromExpPlusSkew) {
  const std::string token = Sign(Claims(), SecretKey());
  const absl::Time exp = kNow + absl::Hours(1);
  const JoinTokenVerifier verifier = SecretVerifier();
  EXPECT_TRUE(verifier.Verify(token, "lobby", exp).ok());
  EXPECT_TRUE(verifier.Verify(token, "lobby", exp + absl::Seconds(30) - absl::Milliseconds(1)).ok());
  EXPECT_EQ(Refusal(verifier, token, "lobby", exp + absl::Seconds(30)), R::kExpired);
  EXPECT_EQ(Refusal(verifier, token, "lobby", exp + absl::Hours(5)), R::kExpired);
}

TEST(JoinTokenTest, NotYetValidBeforeNbfMinusSkew) {
  JoinTokenClaims claims = Claims();
  claims.not_before = kNow;
  const std::string token = Sign(claims, SecretKey());
  const JoinTokenVerifier verifier = SecretVerifier();
  EXPECT_TRUE(verifier.Verify(token, "lobby", kNow - absl::Seconds(30)).ok());
  EXPECT_EQ(Refusal(verifier, token, "lobby", kNow - absl::Seconds(30) - absl::Milliseconds(1)),
            R::kNotYetValid);
}

TEST(JoinTokenTest, IssuedInTheFutureBeyondSkewIsNotYetValid) {
  JoinTokenClaims claims = Claims();
  claims.issued_at = kNow + absl::Seconds(31);
  EXPECT_EQ(Refusal(SecretVerifier(), Sign(claims, SecretKey())), R::kNotYetValid);
  claims.issued_at = kNow + absl::Seconds(30);
  EXPECT_TRUE(SecretVerifier().Verify(Sign(claims, SecretKey()), "lobby", kNow).ok());
}

TEST(JoinTokenTest, SkewIsConfigurable) {
  const JoinTokenVerifier strict = Verifier(WithSkew(Options(kSecret), absl::ZeroDuration()));
  const std::string token = Sign(Claims(), SecretKey());
  const absl::Time exp = kNow + absl::Hours(1);
  EXPECT_TRUE(strict.Verify(token, "lobby", exp - absl::Milliseconds(1)).ok());
  EXPECT_EQ(Refusal(strict, token, "lobby", exp), R::kExpired);
  EXPECT_FALSE(JoinTokenVerifier::Create(WithSkew(Options(kSecret), -absl::Seconds(1))).ok());
}

// ------------------------------------------------------------------ room

TEST(JoinTokenTest, ExactRoomClaimAdmitsOnlyThatRoom) {
  const std::string token = Sign(Claims(), SecretKey());
  EXPECT_EQ(Refusal(SecretVerifier(), token, "lobby2"), R::kWrongRoom);
  EXPECT_EQ(Refusal(SecretVerifier(), token, "lobb"), R::kWrongRoom);
  EXPECT_EQ(Refusal(SecretVerifier(), token, "other"), R::kWrongRoom);
}

TEST(JoinTokenTest, PrefixRoomClaimAdmitsRoomsThatStartWithIt) {
  JoinTokenClaims claims = Claims();
  claims.room = "team-7.*";
  const std::string token = Sign(claims, SecretKey());
  const JoinTokenVerifier verifier = SecretVerifier();
  for (const char* room : {"team-7.doc", "team-7.a.b", "team-7."}) {
    absl::StatusOr<VerifiedJoinToken> verified = verifier.Verify(token, room, kNow);
    ASSERT_TRUE(verified.ok()) << room << ": " << verified.status();
    EXPECT_EQ(verified->room, "team-7.*");
  }
  for (const char* room : {"team-7", "team-70.doc", "team-8.doc", "x-team-7.doc"}) {
    EXPECT_EQ(Refusal(verifier, token, room), R::kWrongRoom) << room;
  }
  claims.room = "*";
  EXPECT_TRUE(verifier.Verify(Sign(claims, SecretKey()), "anything", kNow).ok());
  EXPECT_TRUE(JoinTokenRoomAdmits("a*", "a"));
  EXPECT_FALSE(JoinTokenRoomAdmits("a", "a*"));
}

// ------------------------------------------------------------- signature

TEST(JoinTokenTest, AnyChangedBitBreaksTheSignature) {
  EXPECT_EQ(Refusal(SecretVerifier(), FlipSignatureBit(Sign(Claims(), SecretKey()))),
            R::kBadSignature);
  EXPECT_EQ(Refusal(KeyVerifier(Es()), FlipSignatureBit(Sign(Claims(), PrivateKey(Es())))),
            R::kBadSignature);
  EXPECT_EQ(Refusal(KeyVerifier(Rs()), FlipSignatureBit(Sign(Claims(), PrivateKey(Rs())))),
            R::kBadSignature);
}

TEST(JoinTokenTest, ClaimsSwappedUnderASignatureAreRefused) {
  const std::string token = Sign(Claims(), SecretKey());
  JoinTokenClaims admin = Claims();
  admin.sub = "admin";
  admin.room = "*";
  const std::vector<std::string> forged = Parts(Sign(admin, SecretKey("x" + kSecret)));
  const std::string swapped = absl::StrCat(Parts(token)[0], ".", forged[1], ".", Parts(token)[2]);
  EXPECT_EQ(Refusal(SecretVerifier(), swapped), R::kBadSignature);
}

TEST(JoinTokenTest, OtherKeysSignaturesAreRefused) {
  EXPECT_EQ(Refusal(SecretVerifier(), Sign(Claims(), SecretKey("y" + kSecret))),
            R::kBadSignature);
  EXPECT_EQ(Refusal(KeyVerifier(Es()), Sign(Claims(), PrivateKey(KeyPair(EcKey())))),
            R::kBadSignature);
}

TEST(JoinTokenTest, SignaturesOfTheWrongLengthAreRefused) {
  const std::string es = Sign(Claims(), PrivateKey(Es()));
  const std::string rs = Sign(Claims(), PrivateKey(Rs()));
  for (const std::string& signature : {std::string(), std::string(63, 'A'),
                                       std::string(65, 'B'), std::string(512, 'C')}) {
    EXPECT_EQ(Refusal(KeyVerifier(Es()), WithSignature(es, B64(signature))), R::kBadSignature);
    EXPECT_EQ(Refusal(KeyVerifier(Rs()), WithSignature(rs, B64(signature))), R::kBadSignature);
    EXPECT_EQ(Refusal(SecretVerifier(), WithSignature(Sign(Claims(), SecretKey()), B64(signature))),
              R::kBadSignature);
  }
}

// ------------------------------------------------------------- algorithm

TEST(JoinTokenTest, Hs256TokenAgainstAPublicKeyIsTheWrongAlgorithm) {
  EXPECT_EQ(Refusal(KeyVerifier(Rs()), Sign(Claims(), SecretKey())), R::kWrongAlgorithm);
  EXPECT_EQ(Refusal(KeyVerifier(Es()), Sign(Claims(), SecretKey())), R::kWrongAlgorithm);
}

TEST(JoinTokenTest, PublicKeyTokensAgainstASecretAreTheWrongAlgorithm) {
  EXPECT_EQ(Refusal(SecretVerifier(), Sign(Claims(), PrivateKey(Rs()))), R::kWrongAlgorithm);
  EXPECT_EQ(Refusal(SecretVerifier(), Sign(Claims(), PrivateKey(Es()))), R::kWrongAlgorithm);
}

TEST(JoinTokenTest, EachKeyTypePinsItsOwnAlgorithm) {
  EXPECT_EQ(Refusal(KeyVerifier(Rs()), Sign(Claims(), PrivateKey(Es()))), R::kWrongAlgorithm);
  EXPECT_EQ(Refusal(KeyVerifier(Es()), Sign(Claims(), PrivateKey(Rs()))), R::kWrongAlgorithm);
}

// The classic confusion: the attacker signs HS256 with the server's public
// key text as the HMAC secret, hoping the server verifies with "its key".
TEST(JoinTokenTest, PublicKeyTextUsedAsAnHmacSecretIsRefused) {
  for (const KeyPair* pair : {&Rs(), &Es()}) {
    JoinTokenClaims admin = Claims();
    admin.room = "*";
    const std::string attack = Sign(admin, SecretKey(pair->public_pem));
    EXPECT_EQ(Refusal(KeyVerifier(*pair), attack), R::kWrongAlgorithm);
    const JoinTokenVerifier both =
        Verifier(Options(kSecret, pair));
    EXPECT_EQ(Refusal(both, attack), R::kBadSignature);
  }
}

TEST(JoinTokenTest, AlgNoneAndUnknownAlgorithmsAreRefused) {
  const std::string claims = R"({"sub":"u","room":"lobby","exp":1800000000})";
  for (const char* alg : {"none", "None", "NONE", "nOnE", "HS384", "HS512", "RS512", "PS256",
                          "ES384", "EdDSA", "hs256", ""}) {
    const std::string header = absl::StrCat(R"({"alg":")", alg, R"("})");
    const std::string unsigned_token = absl::StrCat(B64(header), ".", B64(claims), ".");
    for (const JoinTokenVerifier& verifier :
         {SecretVerifier(), KeyVerifier(Es()), KeyVerifier(Rs())}) {
      EXPECT_EQ(Refusal(verifier, unsigned_token), R::kWrongAlgorithm) << alg;
      EXPECT_EQ(Refusal(verifier, Forge(header, claims)), R::kWrongAlgorithm) << alg;
    }
  }
}

// ------------------------------------------------------------- malformed

TEST(JoinTokenTest, NoTokenIsMissing) {
  EXPECT_EQ(Refusal(SecretVerifier(), ""), R::kMissing);
}

TEST(JoinTokenTest, NotThreeBase64UrlPartsIsMalformed) {
  const std::string token = Sign(Claims(), SecretKey());
  const std::vector<std::string> p = Parts(token);
  for (const std::string& bad : {
           std::string("abc"), absl::StrCat(p[0], ".", p[1]),
           absl::StrCat(token, ".", p[2]), std::string(".."), absl::StrCat(".", p[1], ".", p[2]),
           absl::StrCat(p[0], "=.", p[1], ".", p[2]),          // padding
           absl::StrCat(p[0], ".", p[1], ".", p[2], "="),      // padding
           absl::StrCat(p[0], ".", p[1], "+.", p[2]),          // not base64url
           absl::StrCat(p[0], ".", p[1], ".", p[2], "/"),      // not base64url
           absl::StrCat(p[0], " .", p[1], ".", p[2]),          // space
           absl::StrCat(p[0], ".", p[1], "\n.", p[2]),         // newline
           absl::StrCat(p[0], ".", p[1], "A.", p[2]),          // length 1 mod 4
           absl::StrCat(p[0], ".", p[1], ".", std::string(9000, 'A')),  // too long
       }) {
    EXPECT_EQ(Refusal(SecretVerifier(), bad), R::kMalformed) << bad;
  }
}

TEST(JoinTokenTest, NonCanonicalBase64IsMalformed) {
  // "QQ" is the canonical encoding of "A"; "QR" decodes to "A" too, with a
  // stray low bit.
  const std::string token = Sign(Claims(), SecretKey());
  std::string signature = Parts(token)[2];
  ASSERT_EQ(signature.size() % 4, 3u);  // 32 bytes: 43 characters, 2 spare bits
  const char last = signature.back();
  signature.back() = last == 'A' ? 'B' : static_cast<char>(last - 1);
  EXPECT_EQ(Refusal(SecretVerifier(), WithSignature(token, signature)), R::kMalformed);
}

TEST(JoinTokenTest, HeaderThatIsNotAJsonObjectWithAnAlgIsMalformed) {
  const std::string claims = R"({"sub":"u","room":"lobby","exp":1800000000})";
  for (const char* header : {"", "not json", "[\"HS256\"]", "\"HS256\"", "{}",
                             R"({"alg":256})", R"({"alg":null})", R"({"alg":"HS256")",
                             R"({"alg":"HS256","crit":["exp"]})", "{\"alg\":\"HS256\xff\"}"}) {
    EXPECT_EQ(Refusal(SecretVerifier(), Forge(header, claims)), R::kMalformed) << header;
  }
}

TEST(JoinTokenTest, ClaimsThatAreNotAJsonObjectAreMalformed) {
  for (const char* claims : {"", "sub=u", "[1,2]", "null", "42", R"({"sub":"u")"}) {
    EXPECT_EQ(Refusal(SecretVerifier(), Forge(kHs256Header, claims)), R::kMalformed) << claims;
  }
}

// ---------------------------------------------------------------- claims

TEST(JoinTokenTest, MissingOrMistypedClaimsAreBadClaims) {
  for (const char* claims : {
           R"({"room":"lobby","exp":1800000000})",
           R"({"sub":"u","exp":1800000000})",
           R"({"sub":"u","room":"lobby"})",
           R"({"sub":7,"room":"lobby","exp":1800000000})",
           R"({"sub":"u","room":["lobby"],"exp":1800000000})",
           R"({"sub":"u","room":"lobby","exp":"1800000000"})",
           R"({"sub":"u","room":"lobby","exp":true})",
           R"({"sub":"u","room":"lobby","exp":null})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"nbf":"0"})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"iat":{}})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"name":1})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"color":null})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"aud":5})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"aud":[]})",
           R"({"sub":"u","room":"lobby","exp":1800000000,"aud":["a",1]})",
       }) {
    EXPECT_EQ(Refusal(SecretVerifier(), Forge(kHs256Header, claims)), R::kBadClaims) << claims;
  }
}

TEST(JoinTokenTest, ClaimsFollowTheQueryStringsIdentityRules) {
  const std::string long_name(65, 'n');
  for (const std::string& claims : {
           std::string(R"({"sub":"","room":"lobby","exp":1800000000})"),
           std::string(R"({"sub":"a b","room":"lobby","exp":1800000000})"),
           absl::StrCat(R"({"sub":")", std::string(129, 'u'), R"(","room":"lobby","exp":1800000000})"),
           std::string(R"({"sub":"u","room":"","exp":1800000000})"),
           std::string(R"({"sub":"u","room":"a/b","exp":1800000000})"),
           std::string(R"({"sub":"u","room":"a*b","exp":1800000000})"),
           std::string(R"({"sub":"u","room":"**","exp":1800000000})"),
           std::string(R"({"sub":"u","room":"lobby","exp":1800000000,"name":""})"),
           absl::StrCat(R"({"sub":"u","room":"lobby","exp":1800000000,"name":")", long_name, R"("})"),
           std::string(R"({"sub":"u","room":"lobby","exp":1800000000,"name":"a\nb"})"),
           std::string(R"({"sub":"u","room":"lobby","exp":1800000000,"color":"red"})"),
           std::string(R"({"sub":"u","room":"lobby","exp":1800000000,"color":"#12345g"})"),
       }) {
    EXPECT_EQ(Refusal(SecretVerifier(), Forge(kHs256Header, claims)), R::kBadClaims) << claims;
  }
  // The limits themselves are fine.
  const std::string at_limits =
      absl::StrCat(R"({"sub":")", std::string(128, 'u'), R"(","room":"lobby","exp":1800000000,)",
                   R"("name":")", std::string(64, 'n'), R"(","color":"#ABCDEF"})");
  absl::StatusOr<VerifiedJoinToken> verified =
      SecretVerifier().Verify(Forge(kHs256Header, at_limits), "lobby", kNow);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->color, "#abcdef");
}

TEST(JoinTokenTest, UnknownClaimsAndHeaderFieldsAreIgnored) {
  const std::string token = Forge(R"({"alg":"HS256","typ":"JWT","kid":"k1"})",
                                  R"({"sub":"u","room":"lobby","exp":1800000000,"jti":"x"})");
  EXPECT_TRUE(SecretVerifier().Verify(token, "lobby", kNow).ok());
}

TEST(JoinTokenTest, AudienceMustNameTheConfiguredOne) {
  const JoinTokenVerifier verifier = Verifier(WithAudience(Options(kSecret), "cursord"));
  JoinTokenClaims claims = Claims();
  EXPECT_EQ(Refusal(verifier, Sign(claims, SecretKey())), R::kWrongAudience);
  claims.audience = {"cursord"};
  EXPECT_TRUE(verifier.Verify(Sign(claims, SecretKey()), "lobby", kNow).ok());
  claims.audience = {"billing", "cursord"};
  EXPECT_TRUE(verifier.Verify(Sign(claims, SecretKey()), "lobby", kNow).ok());
  claims.audience = {"billing"};
  EXPECT_EQ(Refusal(verifier, Sign(claims, SecretKey())), R::kWrongAudience);
  claims.audience = {"cursord-staging"};
  EXPECT_EQ(Refusal(verifier, Sign(claims, SecretKey())), R::kWrongAudience);
}

TEST(JoinTokenTest, TokenForAnAudienceIsRefusedWhereNoneIsConfigured) {
  JoinTokenClaims claims = Claims();
  claims.audience = {"billing"};
  EXPECT_EQ(Refusal(SecretVerifier(), Sign(claims, SecretKey())), R::kWrongAudience);
}

TEST(JoinTokenTest, AudienceIsWrittenAsAStringOrAnArray) {
  JoinTokenClaims claims = Claims();
  claims.audience = {"a"};
  std::string text;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(Parts(Sign(claims, SecretKey()))[1], &text));
  EXPECT_NE(text.find(R"("aud":"a")"), std::string::npos) << text;
  claims.audience = {"a", "b"};
  ASSERT_TRUE(absl::WebSafeBase64Unescape(Parts(Sign(claims, SecretKey()))[1], &text));
  EXPECT_NE(text.find(R"("aud":["a","b"])"), std::string::npos) << text;
}

// -------------------------------------------------------------- refusals

TEST(JoinTokenTest, EachRefusalHasItsOwnCloseCodeReasonAndLabel) {
  const std::vector<R> all = {R::kMissing,      R::kMalformed,  R::kBadSignature,
                              R::kWrongAlgorithm, R::kExpired,  R::kNotYetValid,
                              R::kWrongRoom,    R::kWrongAudience, R::kBadClaims};
  std::set<int> codes;
  std::set<std::string_view> reasons, labels;
  for (R refusal : all) {
    const int code = JoinTokenCloseCode(refusal);
    EXPECT_GE(code, 4400);
    EXPECT_LE(code, 4499);
    codes.insert(code);
    EXPECT_FALSE(JoinTokenCloseReason(refusal).empty());
    EXPECT_LE(JoinTokenCloseReason(refusal).size(), 123u);
    reasons.insert(JoinTokenCloseReason(refusal));
    for (char c : JoinTokenMetricLabel(refusal)) EXPECT_TRUE(c == '_' || (c >= 'a' && c <= 'z'));
    labels.insert(JoinTokenMetricLabel(refusal));
  }
  EXPECT_EQ(codes.size(), all.size());
  EXPECT_EQ(reasons.size(), all.size());
  EXPECT_EQ(labels.size(), all.size());
  // The documented table.
  EXPECT_EQ(JoinTokenCloseCode(R::kMalformed), 4400);
  EXPECT_EQ(JoinTokenCloseCode(R::kMissing), 4401);
  EXPECT_EQ(JoinTokenCloseCode(R::kBadSignature), 4402);
  EXPECT_EQ(JoinTokenCloseCode(R::kWrongRoom), 4403);
  EXPECT_EQ(JoinTokenCloseCode(R::kWrongAlgorithm), 4405);
  EXPECT_EQ(JoinTokenCloseCode(R::kExpired), 4406);
  EXPECT_EQ(JoinTokenCloseCode(R::kNotYetValid), 4407);
  EXPECT_EQ(JoinTokenCloseCode(R::kWrongAudience), 4408);
  EXPECT_EQ(JoinTokenCloseCode(R::kBadClaims), 4409);
  EXPECT_EQ(JoinTokenRefusalOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(JoinTokenRefusalOf(absl::InvalidArgumentError("x")), std::nullopt);
}

TEST(JoinTokenTest, RefusalMessagesNeverQuoteTheToken) {
  const std::string marker = "Zq9marker";
  JoinTokenClaims claims = Claims();
  claims.sub = marker;
  claims.room = marker;
  const std::string token = Sign(claims, SecretKey());
  std::vector<std::pair<std::string, absl::Status>> refusals = {
      {token, SecretVerifier().Verify(token, "lobby", kNow).status()},
      {token, SecretVerifier().Verify(token, marker, kNow + absl::Hours(2)).status()},
      {token, SecretVerifier().Verify(FlipSignatureBit(token), marker, kNow).status()},
      {token, KeyVerifier(Rs()).Verify(token, marker, kNow).status()},
  };
  const std::string bad_sub =
      Forge(kHs256Header, absl::StrCat(R"({"sub":"a )", marker, R"(","room":"lobby","exp":1800000000})"));
  refusals.push_back({bad_sub, SecretVerifier().Verify(bad_sub, "lobby", kNow).status()});
  const std::string bad_alg = Forge(absl::StrCat(R"({"alg":")", marker, R"("})"), "{}");
  refusals.push_back({bad_alg, SecretVerifier().Verify(bad_alg, "lobby", kNow).status()});
  for (const auto& [text, status] : refusals) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(std::string(status.message()).find(marker), std::string::npos) << status;
    for (const std::string& part : Parts(text)) {
      if (part.size() >= 8) {
        EXPECT_EQ(std::string(status.message()).find(part), std::string::npos) << status;
      }
    }
  }
}

// ------------------------------------------------------------------ keys

TEST(JoinTokenTest, OnlyP256AndLargeEnoughRsaPublicKeysLoad) {
  EXPECT_EQ(ParseJoinPublicKey(Es().public_pem)->algorithm(), JoinTokenAlgorithm::kEs256);
  EXPECT_EQ(ParseJoinPublicKey(Rs().public_pem)->algorithm(), JoinTokenAlgorithm::kRs256);
  EXPECT_FALSE(ParseJoinPublicKey(EcKey("P-384").public_pem).ok());
  EXPECT_FALSE(ParseJoinPublicKey(RsaKey(1024).public_pem).ok());
  EXPECT_FALSE(ParseJoinPublicKey(PemsOf(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")).public_pem)
                   .ok());
  EXPECT_FALSE(ParseJoinPublicKey("").ok());
  EXPECT_FALSE(ParseJoinPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                   .ok());
  const absl::Status private_given = ParseJoinPublicKey(Es().private_pem).status();
  EXPECT_NE(private_given.message().find("private key"), absl::string_view::npos) << private_given;
}

TEST(JoinTokenTest, SigningKeysPinTheirAlgorithm) {
  EXPECT_EQ(SecretKey().algorithm(), JoinTokenAlgorithm::kHs256);
  EXPECT_EQ(PrivateKey(Es()).algorithm(), JoinTokenAlgorithm::kEs256);
  EXPECT_EQ(PrivateKey(Rs()).algorithm(), JoinTokenAlgorithm::kRs256);
  EXPECT_FALSE(JoinSigningKey::FromPrivateKeyPem(Es().public_pem).ok());
  EXPECT_FALSE(JoinSigningKey::FromPrivateKeyPem(EcKey("P-384").private_pem).ok());
  EXPECT_FALSE(JoinSigningKey::FromSecret(std::string(31, 's')).ok());
}

TEST(JoinTokenTest, VerifierNeedsAKeyAndALongEnoughSecret) {
  EXPECT_FALSE(JoinTokenVerifier::Create({}).ok());
  EXPECT_FALSE(JoinTokenVerifier::Create(Options(std::string(31, 's'))).ok());
  EXPECT_TRUE(JoinTokenVerifier::Create(Options(std::string(32, 's'))).ok());
  EXPECT_FALSE(JoinTokenVerifier::Create(WithAudience(Options(kSecret), "a b")).ok());
}

TEST(JoinTokenTest, SignerRefusesClaimsTheVerifierWouldRefuse) {
  const JoinSigningKey key = SecretKey();
  for (auto change : std::vector<void (*)(JoinTokenClaims&)>{
           [](JoinTokenClaims& c) { c.sub = ""; },
           [](JoinTokenClaims& c) { c.sub = "a b"; },
           [](JoinTokenClaims& c) { c.room = "a/b"; },
           [](JoinTokenClaims& c) { c.room = ""; },
           [](JoinTokenClaims& c) { c.name = std::string(65, 'n'); },
           [](JoinTokenClaims& c) { c.color = "blue"; },
           [](JoinTokenClaims& c) { c.audience = {""}; },
           [](JoinTokenClaims& c) { c.audience = {"a b"}; },
       }) {
    JoinTokenClaims claims = Claims();
    change(claims);
    EXPECT_EQ(SignJoinToken(claims, key).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// ------------------------------------------------------------ extraction

TEST(JoinTokenTest, TokenFromTheQueryIsPercentDecoded) {
  absl::StatusOr<ExtractedJoinToken> found =
      ExtractJoinToken("user=u&token=aa%2Ebb.cc&name=x", "");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->token, "aa.bb.cc");
  EXPECT_EQ(found->source, JoinTokenSource::kQuery);
  EXPECT_TRUE(found->subprotocols.empty());
}

TEST(JoinTokenTest, TokenFromTheSubprotocolHeaderLeavesTheOtherEntries) {
  absl::StatusOr<ExtractedJoinToken> found =
      ExtractJoinToken("user=u", "cursord.v2 ,cursord.token.aa.bb.cc,  chat");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->token, "aa.bb.cc");
  EXPECT_EQ(found->source, JoinTokenSource::kSubprotocol);
  EXPECT_EQ(found->subprotocols, (std::vector<std::string>{"cursord.v2", "chat"}));
  found = ExtractJoinToken("", "cursord.token.aa.bb.cc, cursord.v2");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->subprotocols, std::vector<std::string>{"cursord.v2"});
}

TEST(JoinTokenTest, NoTokenExtractsNothingAndVerifiesAsMissing) {
  absl::StatusOr<ExtractedJoinToken> found = ExtractJoinToken("user=u&tokens=x", "cursord.v2");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->source, JoinTokenSource::kNone);
  EXPECT_EQ(found->token, "");
  EXPECT_EQ(found->subprotocols, std::vector<std::string>{"cursord.v2"});
  EXPECT_EQ(Refusal(SecretVerifier(), found->token), R::kMissing);
}

TEST(JoinTokenTest, TwoTokensOrABadEscapeAreMalformed) {
  for (const auto& [query, header] : std::vector<std::pair<std::string, std::string>>{
           {"token=a.b.c&token=a.b.c", ""},
           {"token=a.b.c", "cursord.v2, cursord.token.a.b.c"},
           {"", "cursord.token.a.b.c, cursord.token.d.e.f"},
           {"token=a.b.c%2", ""},
           {"token=a.b.c%zz", ""},
       }) {
    absl::StatusOr<ExtractedJoinToken> found = ExtractJoinToken(query, header);
    EXPECT_EQ(JoinTokenRefusalOf(found.status()), R::kMalformed) << query << " | " << header;
  }
}

TEST(JoinTokenTest, ExtractedTokensVerify) {
  const std::string token = Sign(Claims(), SecretKey());
  for (const auto& [query, header] : std::vector<std::pair<std::string, std::string>>{
           {absl::StrCat("token=", token), "cursord.v2"},
           {"user=spoof", absl::StrCat("cursord.v2, ", std::string(kJoinTokenSubprotocolPrefix), token)},
       }) {
    absl::StatusOr<ExtractedJoinToken> found = ExtractJoinToken(query, header);
    ASSERT_TRUE(found.ok()) << found.status();
    absl::StatusOr<VerifiedJoinToken> verified =
        SecretVerifier().Verify(found->token, "lobby", kNow);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->user_id, "u-1");
    EXPECT_EQ(found->subprotocols, std::vector<std::string>{"cursord.v2"});
  }
}

}  // namespace
}  // namespace cursord::core
