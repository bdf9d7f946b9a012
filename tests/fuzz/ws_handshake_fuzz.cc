// The WebSocket opening handshake checks: core::CheckHandshake,
// IsValidClientKey, AcceptKeyFor and Sha1 (server/core/ws_handshake.h).
//
// Input: three lines, the Host, Sec-WebSocket-Key and Sec-WebSocket-Version
// header values ("example.com\ndGhlIHNhbXBsZSBub25jZQ==\n13"); the last
// field keeps any further newlines.
//
// Checks:
//  - the verdict is 101 exactly when the version is "13", a Host is given
//    and the key is the base64 of 16 bytes; 426 exactly for another
//    non-empty version; 400 otherwise; an error text with every refusal and
//    an accept key only with 101;
//  - a key taken as valid decodes (abseil) to 16 bytes;
//  - the accept key is base64(SHA-1(key + GUID)) computed with OpenSSL, and
//    our Sha1 agrees with OpenSSL's on the whole input;
//  - the 101 response head carries the accept key and ends the head.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/ws_handshake.h"
#include "tests/fuzz/fuzz_check.h"

namespace cursord::fuzz {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string OpenSslSha1(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  FUZZ_CHECK(EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace
}  // namespace cursord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cursord;
  using namespace cursord::fuzz;
  const std::string_view input = AsText(data, size);
  const std::vector<std::string_view> fields = SplitFields(input, 3);
  const std::string_view host = fields[0], key = fields[1], version = fields[2];

  FUZZ_CHECK(core::Sha1(input) == OpenSslSha1(input));

  const bool key_ok = core::IsValidClientKey(key);
  if (key_ok) {
    std::string raw;
    FUZZ_CHECK(key.size() == 24 && key.substr(22) == "==");
    FUZZ_CHECK(absl::Base64Unescape(Sv(key), &raw) && raw.size() == 16);
  }

  const core::HandshakeVerdict verdict = core::CheckHandshake(host, key, version);
  if (version == "13" && !host.empty() && key_ok) {
    FUZZ_CHECK(verdict.status == 101);
    FUZZ_CHECK(verdict.error.empty());
    const std::string expected = absl::Base64Escape(OpenSslSha1(absl::StrCat(Sv(key), Sv(kGuid))));
    FUZZ_CHECK(verdict.accept_key == expected);
    FUZZ_CHECK(core::AcceptKeyFor(key) == expected);
    const std::string head = core::SwitchingProtocolsResponse(verdict.accept_key);
    FUZZ_CHECK(
        absl::StrContains(head, absl::StrCat("\r\nSec-WebSocket-Accept: ", expected, "\r\n")));
    FUZZ_CHECK(absl::EndsWith(head, "\r\n\r\n"));
    FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4);
  } else {
    FUZZ_CHECK(verdict.status == (!version.empty() && version != "13" ? 426 : 400));
    FUZZ_CHECK(!verdict.error.empty());
    FUZZ_CHECK(verdict.accept_key.empty());
  }
  return 0;
}
