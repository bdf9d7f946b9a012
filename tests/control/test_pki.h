// A throwaway PKI for the control plane's TLS tests, made with OpenSSL in
// memory and written as PEM files: a CA; a server certificate it signed
// for 127.0.0.1, localhost and cursord.test; a client certificate it
// signed; an expired server certificate; and a second CA with a client
// certificate of its own, which the first CA's server does not trust.
#ifndef CURSORD_TESTS_CONTROL_TEST_PKI_H_
#define CURSORD_TESTS_CONTROL_TEST_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace cursord::testing {

// Paths of PEM files.
struct TestPki {
  std::string ca_cert;
  std::string server_cert;  // subjectAltName IP:127.0.0.1, DNS:localhost, DNS:cursord.test
  std::string server_key;
  std::string client_cert;  // CN=operator, extendedKeyUsage clientAuth
  std::string client_key;
  std::string expired_cert;  // like server_cert, but its validity ended an hour ago
  std::string expired_key;
  std::string other_ca_cert;  // a CA that signed none of the above
  std::string other_client_cert;  // signed by other_ca_cert
  std::string other_client_key;
};

// Makes the PKI in `dir` (which must exist). Keys are EC P-256.
absl::StatusOr<TestPki> MakeTestPki(const std::string& dir);

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_CONTROL_TEST_PKI_H_
