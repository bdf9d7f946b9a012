// cursorctl: the cursord admin tool. main only wires the commands up and
// turns parse errors into exit code 2; each command lives in its own file.
#include <iostream>
#include <string>

#include "CLI/App.hpp"
#include "CLI/Config.hpp"
#include "CLI/Formatter.hpp"
#include "cli/command.h"
#include "server/common/version.h"

int main(int argc, char** argv) {
  using cursord::cli::Context;
  Context context;
  CLI::App app{
      "cursorctl: see and manage the rooms and presence of a cursord server",
      "cursorctl"};
  app.set_version_flag("--version", std::string(cursord::kVersion));
  // Subcommands hand options they do not know to the top level, so global
  // options may come after the command.
  app.fallthrough();
  app.require_subcommand(1);
  cursord::cli::SetupGlobalOptions(app, context.globals);
  cursord::cli::SetupRoomsCommand(app, context);
  cursord::cli::SetupKickCommand(app, context);
  cursord::cli::SetupWatchCommand(app, context);
  cursord::cli::SetupActivityCommand(app, context);
  cursord::cli::SetupStatusCommand(app, context);
  cursord::cli::SetupInstancesCommand(app, context);
  cursord::cli::SetupSessionsCommand(app, context);
  cursord::cli::SetupTokenCommand(app, context);
  // Set last: subcommands copy their parent's footer when created.
  app.footer(
      "Examples:\n"
      "  cursorctl rooms list\n"
      "  cursorctl --server 10.0.0.5:50051 --token \"$TOKEN\" rooms show lobby\n"
      "  cursorctl kick lobby 3 --reason \"please rejoin\"\n"
      "  cursorctl token --room lobby --user u-1 --secret-env JOIN_SECRET\n"
      "Exit codes: 0 ok, 1 the call failed, 2 usage error, 3 server "
      "unreachable.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version are "errors" that exit 0; everything else that
    // stops the parse is a usage error.
    const int code = app.exit(e);
    return code == 0 ? cursord::cli::kExitOk : cursord::cli::kExitUsage;
  }
  return context.exit_code;
}
