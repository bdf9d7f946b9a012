// The options every command takes, set on the top-level app. Subcommands
// fall through to them, so `cursorctl rooms list -o json` works as well as
// `cursorctl -o json rooms list`.
#include "cli/command.h"

namespace cursord::cli {

void SetupGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--server", options.server,
                 "The cursord control API, HOST:PORT")
      ->envname("CURSORCTL_SERVER")
      ->capture_default_str();
  app.add_option("--token", options.token,
                 "Bearer token, if cursord runs with --control-token")
      ->envname("CURSORCTL_TOKEN");
  app.add_flag("--tls", options.tls,
               "Connect over TLS, trusting the system's CAs (or --ca's)")
      ->envname("CURSORCTL_TLS");
  app.add_option("--ca", options.ca_file,
                 "PEM CA certificate(s) to trust for the server's certificate "
                 "(implies --tls)")
      ->envname("CURSORCTL_CA")
      ->type_name("FILE");
  app.add_option("--cert", options.cert_file,
                 "PEM client certificate, if cursord requires one "
                 "(--control-tls-client-ca); with --key; implies --tls")
      ->envname("CURSORCTL_CERT")
      ->type_name("FILE");
  app.add_option("--key", options.key_file,
                 "PEM private key of --cert (unencrypted)")
      ->envname("CURSORCTL_KEY")
      ->type_name("FILE");
  app.add_option("--tls-server-name", options.tls_server_name,
                 "Name to expect in the server's certificate instead of the "
                 "--server host (implies --tls)")
      ->envname("CURSORCTL_TLS_SERVER_NAME");
  app.add_option("-o,--output", options.output,
                 "table (aligned) or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds,
                 "Seconds to wait for a connection and for each call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace cursord::cli
