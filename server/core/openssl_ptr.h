// Owners for OpenSSL objects, so that every early return frees them.
// (join_token.cc predates this header and keeps its own.)
#ifndef CURSORD_CORE_OPENSSL_PTR_H_
#define CURSORD_CORE_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace cursord::core {

struct OpenSslFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
};

using BioPtr = std::unique_ptr<BIO, OpenSslFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree>;

}  // namespace cursord::core

#endif  // CURSORD_CORE_OPENSSL_PTR_H_
