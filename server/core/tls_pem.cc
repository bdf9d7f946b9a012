#include "server/core/tls_pem.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/core/openssl_ptr.h"

namespace cursord::core {
namespace {

absl::string_view Sv(std::string_view text) { return {text.data(), text.size()}; }

// OpenSSL leaves its reasons on a thread-local queue; a refusal here is
// reported through the Status, so the queue is emptied for whoever asks
// OpenSSL next.
absl::Status Invalid(std::string message) {
  ERR_clear_error();
  return absl::InvalidArgumentError(std::move(message));
}

BioPtr MemoryBio(std::string_view text) {
  if (text.size() > INT_MAX) return nullptr;
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in `pem`, in order; empty when there is none or a
// block between them does not parse.
std::vector<X509Ptr> ParseCertificates(std::string_view pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a
  // block that does not parse.
  const unsigned long error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) != ERR_LIB_PEM || ERR_GET_REASON(error) != PEM_R_NO_START_LINE) {
    certs.clear();
  }
  ERR_clear_error();
  return certs;
}

std::string FormatAsn1Time(const ASN1_TIME* time) {
  std::tm tm = {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "an unreadable date";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromTM(tm, absl::UTCTimeZone()),
                          absl::UTCTimeZone());
}

}  // namespace

absl::Status CheckPemCertificates(std::string_view pem, std::string_view name) {
  if (ParseCertificates(pem).empty()) {
    return Invalid(absl::StrCat("\"", Sv(name), "\" holds no PEM certificate (\"-----BEGIN ",
                                "CERTIFICATE-----\"), or one that does not parse"));
  }
  return absl::OkStatus();
}

absl::Status CheckPemKeyPair(std::string_view cert_pem, std::string_view cert_name,
                             std::string_view key_pem, std::string_view key_name,
                             absl::Time now) {
  std::vector<X509Ptr> chain = ParseCertificates(cert_pem);
  if (chain.empty()) return CheckPemCertificates(cert_pem, cert_name);
  if (absl::StrContains(Sv(key_pem), "ENCRYPTED")) {
    return Invalid(absl::StrCat("\"", Sv(key_name),
                                "\" is an encrypted private key; gRPC needs it unencrypted "
                                "(openssl pkey -in KEY -out KEY.plain)"));
  }
  // Without a callback OpenSSL would prompt on the terminal for a
  // passphrase; refuse instead.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  BioPtr bio = MemoryBio(key_pem);
  PkeyPtr key(bio == nullptr ? nullptr
                             : PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (key == nullptr) {
    return Invalid(absl::StrCat("\"", Sv(key_name), "\" holds no PEM private key"));
  }
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    return Invalid(absl::StrCat("the private key in \"", Sv(key_name),
                                "\" does not belong to the certificate in \"", Sv(cert_name),
                                "\" (the first one, if it holds a chain)"));
  }
  time_t at = absl::ToTimeT(now);
  if (X509_cmp_time(X509_get0_notAfter(leaf), &at) < 0) {
    return Invalid(absl::StrCat("the certificate in \"", Sv(cert_name), "\" expired on ",
                                FormatAsn1Time(X509_get0_notAfter(leaf))));
  }
  ERR_clear_error();
  return absl::OkStatus();
}

}  // namespace cursord::core
