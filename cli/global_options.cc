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
