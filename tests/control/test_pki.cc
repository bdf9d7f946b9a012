#include "tests/control/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/core/openssl_ptr.h"

namespace cursord::testing {
namespace {

struct Issued {
  core::PkeyPtr key;
  core::X509Ptr cert;
};

// What a certificate is for.
struct Profile {
  const char* common_name;
  bool ca = false;
  const char* subject_alt_name = nullptr;  // e.g. "IP:127.0.0.1,DNS:localhost"
  const char* extended_key_usage = nullptr;  // "serverAuth", "clientAuth"
  long valid_from_seconds = -3600;  // relative to now; back a little for clock skew
  long valid_until_seconds = 86400;
};

bool AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (extension == nullptr) return false;
  const bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

// A new key and a certificate for it, signed by `issuer` (self-signed
// when null).
absl::StatusOr<Issued> Issue(const Profile& profile, const Issued* issuer) {
  static long serial = 1;
  Issued issued;
  issued.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  issued.cert.reset(X509_new());
  if (issued.key == nullptr || issued.cert == nullptr) {
    return absl::InternalError("out of memory making a key");
  }
  X509* cert = issued.cert.get();
  X509_set_version(cert, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), profile.valid_from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert), profile.valid_until_seconds);
  X509_set_pubkey(cert, issued.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(profile.common_name), -1,
                             -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key.get() : issued.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  bool ok = AddExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (profile.ca) {
    ok = ok && AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature") &&
         AddExtension(cert, &ctx, NID_authority_key_identifier, "keyid");
  }
  if (profile.subject_alt_name != nullptr) {
    ok = ok && AddExtension(cert, &ctx, NID_subject_alt_name, profile.subject_alt_name);
  }
  if (profile.extended_key_usage != nullptr) {
    ok = ok && AddExtension(cert, &ctx, NID_ext_key_usage, profile.extended_key_usage);
  }
  if (!ok || X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
    return absl::InternalError(absl::StrCat("cannot make the certificate ", profile.common_name));
  }
  return issued;
}

absl::Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return absl::InternalError(absl::StrCat("cannot write ", path));
  const bool ok = cert != nullptr
                      ? PEM_write_X509(file, cert) == 1
                      : PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  return ok ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

// Writes `issued` as `dir`/`stem`.pem and, unless null, `*key_path`.
absl::Status Write(const Issued& issued, const std::string& dir, const std::string& stem,
                   std::string* cert_path, std::string* key_path) {
  *cert_path = absl::StrCat(dir, "/", stem, ".pem");
  if (absl::Status status = WritePem(*cert_path, issued.cert.get(), nullptr); !status.ok()) {
    return status;
  }
  if (key_path == nullptr) return absl::OkStatus();
  *key_path = absl::StrCat(dir, "/", stem, ".key");
  return WritePem(*key_path, nullptr, issued.key.get());
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  Profile ca_profile{"cursord test CA"};
  ca_profile.ca = true;
  Profile server_profile{"localhost"};
  server_profile.subject_alt_name = "IP:127.0.0.1,DNS:localhost,DNS:cursord.test";
  server_profile.extended_key_usage = "serverAuth";
  Profile client_profile{"operator"};
  client_profile.extended_key_usage = "clientAuth";
  Profile expired_profile = server_profile;
  expired_profile.valid_from_seconds = -7200;
  expired_profile.valid_until_seconds = -3600;
  Profile other_ca_profile{"another CA"};
  other_ca_profile.ca = true;

  absl::StatusOr<Issued> ca = Issue(ca_profile, nullptr);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<Issued> server = Issue(server_profile, &*ca);
  absl::StatusOr<Issued> client = Issue(client_profile, &*ca);
  absl::StatusOr<Issued> expired = Issue(expired_profile, &*ca);
  absl::StatusOr<Issued> other_ca = Issue(other_ca_profile, nullptr);
  if (!other_ca.ok()) return other_ca.status();
  absl::StatusOr<Issued> other_client = Issue(client_profile, &*other_ca);
  for (const absl::StatusOr<Issued>* issued : {&server, &client, &expired, &other_client}) {
    if (!issued->ok()) return issued->status();
  }

  TestPki pki;
  for (absl::Status status : {
           Write(*ca, dir, "ca", &pki.ca_cert, nullptr),
           Write(*server, dir, "server", &pki.server_cert, &pki.server_key),
           Write(*client, dir, "client", &pki.client_cert, &pki.client_key),
           Write(*expired, dir, "expired", &pki.expired_cert, &pki.expired_key),
           Write(*other_ca, dir, "other_ca", &pki.other_ca_cert, nullptr),
           Write(*other_client, dir, "other_client", &pki.other_client_cert,
                 &pki.other_client_key),
       }) {
    if (!status.ok()) return status;
  }
  return pki;
}

}  // namespace cursord::testing
