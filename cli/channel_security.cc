#include "cli/channel_security.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/read_file.h"
#include "server/core/loopback.h"
#include "server/core/tls_pem.h"

namespace cursord::cli {
namespace {

absl::Status ForFlag(absl::string_view flag, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", status.message()));
}

}  // namespace

absl::StatusOr<ChannelSecurity> ResolveChannelSecurity(const GlobalOptions& options,
                                                       absl::Time now) {
  const bool tls = options.tls || !options.ca_file.empty() || !options.cert_file.empty() ||
                   !options.key_file.empty() || !options.tls_server_name.empty();
  if (!tls) {
    if (!options.token.empty() && !core::IsLoopbackAddress(options.server)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to send the token in clear to ", options.server,
          ", which is not a loopback address: add --tls (and --ca FILE unless its "
          "certificate comes from a CA this system trusts), or reach it through "
          "loopback (e.g. an SSH tunnel to 127.0.0.1)"));
    }
    return ChannelSecurity{grpc::InsecureChannelCredentials(), false, ""};
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--cert and --key go together: the client certificate and its private key");
  }

  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFileToString(options.ca_file);
    if (!ca.ok()) return ForFlag("--ca", ca.status());
    if (absl::Status status = core::CheckPemCertificates(*ca, options.ca_file); !status.ok()) {
      return ForFlag("--ca", status);
    }
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFileToString(options.cert_file);
    if (!cert.ok()) return ForFlag("--cert", cert.status());
    absl::StatusOr<std::string> key = ReadFileToString(options.key_file);
    if (!key.ok()) return ForFlag("--key", key.status());
    if (absl::Status status =
            core::CheckPemKeyPair(*cert, options.cert_file, *key, options.key_file, now);
        !status.ok()) {
      return ForFlag("--cert/--key", status);
    }
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return ChannelSecurity{grpc::SslCredentials(ssl), true, options.tls_server_name};
}

std::string ConnectionHint(bool tls, absl::string_view grpc_message) {
  const auto has = [grpc_message](absl::string_view text) {
    return absl::StrContains(grpc_message, text);
  };
  if (!tls) {
    // A TLS server closes a connection that opens in plaintext.
    return has("Socket closed") ? "; if the server uses TLS, add --tls (and --ca FILE)" : "";
  }
  if (has("certificate verify failed")) {
    return "; the server's certificate is not signed by a CA in --ca (without --ca: one "
           "this system trusts)";
  }
  if (has("Peer name")) {
    return "; the server's certificate is not for this name: connect to a name it carries, "
           "or give that name as --tls-server-name";
  }
  if (has("wrong version number")) return "; the server does not use TLS: drop --tls and --ca";
  if (has("Socket closed") || has("handshake")) {
    return "; the server ended the TLS handshake: if it requires client certificates "
           "(--control-tls-client-ca), give --cert and --key from a CA it trusts";
  }
  return "";
}

}  // namespace cursord::cli
