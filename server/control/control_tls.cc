#include "server/control/control_tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/server_credentials.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/read_file.h"
#include "server/core/loopback.h"
#include "server/core/tls_pem.h"

namespace cursord::control {
namespace {

// `status`'s message after "flag: ".
absl::Status ForFlag(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(flag, ": ", status.message()));
}

}  // namespace

absl::Status CheckControlTransport(absl::string_view listen, absl::string_view token,
                                   const ControlTlsOptions& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--control-tls-cert and --control-tls-key go together: give both, or neither");
  }
  if (tls.mutual() && !tls.enabled()) {
    return absl::InvalidArgumentError(
        "--control-tls-client-ca needs --control-tls-cert and --control-tls-key: "
        "mutual TLS is TLS first");
  }
  if (!token.empty() && !tls.enabled() && !core::IsLoopbackAddress(std::string_view(listen.data(), listen.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--control-token on ", listen,
        ", which is not a loopback address, would cross the network in clear: add "
        "--control-tls-cert and --control-tls-key, or listen on loopback "
        "(--control-listen 127.0.0.1:PORT)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ControlServerCredentials(
    const ControlTlsOptions& tls, absl::Time now) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();

  absl::StatusOr<std::string> cert = ReadFileToString(tls.cert_file);
  if (!cert.ok()) return ForFlag("--control-tls-cert", cert.status());
  absl::StatusOr<std::string> key = ReadFileToString(tls.key_file);
  if (!key.ok()) return ForFlag("--control-tls-key", key.status());
  if (absl::Status status =
          core::CheckPemKeyPair(*cert, tls.cert_file, *key, tls.key_file, now);
      !status.ok()) {
    return ForFlag("--control-tls-cert/--control-tls-key", status);
  }

  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (tls.mutual()) {
    absl::StatusOr<std::string> client_ca = ReadFileToString(tls.client_ca_file);
    if (!client_ca.ok()) return ForFlag("--control-tls-client-ca", client_ca.status());
    if (absl::Status status = core::CheckPemCertificates(*client_ca, tls.client_ca_file);
        !status.ok()) {
      return ForFlag("--control-tls-client-ca", status);
    }
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    options.pem_root_certs = *std::move(client_ca);
  }
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

}  // namespace cursord::control
